import { createExecutionContext, createMessageBatch, evictDurableObject, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeliverJob, FanoutJob } from "../../../core/fanout/jobs.js";
import { inboxFor, shardOfUser } from "../../../core/objects/shard.js";
import worker from "../../../workers/index.js";
import { call, clientToken, newApp } from "../http.js";
import { eventually, TestSocket, text } from "./helpers.js";

async function tagUsers(key: string, tag: string, users: string[]) {
	for (let i = 0; i < users.length; i += 1000) {
		const r = await call("POST", `/v1/tags/${tag}/users`, key, { add: users.slice(i, i + 1000) });
		expect(r.status).toBe(200);
	}
}

describe("tag fan-out through Queues", () => {
	it("applies any / all / none and reaches exactly the matching users", async () => {
		const { key } = await newApp();
		await tagUsers(key, "vip", ["u1", "u2", "u3", "u4"]);
		await tagUsers(key, "beijing", ["u2", "u3", "u5"]);
		await tagUsers(key, "churned", ["u3"]);
		const sent = await call("POST", "/v1/messages", key, {
			audience: { tags: { any: ["vip"], all: ["beijing"], none: ["churned"] } },
			content: text("promo"),
		});
		expect(sent.status).toBe(202);
		const done = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.status === "done",
		);
		expect(done.body.counts.targeted).toBe(1);
		expect((await call("GET", `/v1/messages/${sent.body.id}/recipients/u2`, key)).body.status).toBe("queued");
		expect((await call("GET", `/v1/messages/${sent.body.id}/recipients/u3`, key)).status).toBe(404);
		expect((await call("GET", `/v1/messages/${sent.body.id}/recipients/u1`, key)).status).toBe(404);
	});

	it("reaches 1,500 tagged users over several deliver jobs with exact counts, online ones live", async () => {
		const { key } = await newApp();
		const users = Array.from({ length: 1500 }, (_, i) => `user-${String(i).padStart(4, "0")}`);
		await tagUsers(key, "everyone", users);
		const online = await TestSocket.open(await clientToken(key, "user-0007"), "d");
		await online.hello(0);
		const sent = await call("POST", "/v1/messages", key, {
			audience: { tags: { any: ["everyone"] } },
			content: text("hello all"),
		});
		const frame = await online.next((f) => f.type === "message", 0, 20_000);
		expect(frame).toMatchObject({ id: sent.body.id, seq: 1 });
		const done = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.status === "done",
			30_000,
		);
		expect(done.body.counts).toMatchObject({ targeted: 1500, delivered: 1, failed: 0 });
		online.close();
	}, 60_000);

	it("a redelivered deliver job, even after the inboxes restart, stores nothing twice and counts once", async () => {
		const { appId, key } = await newApp();
		const users = ["r1", "r2", "r3"];
		const sent = await call("POST", "/v1/messages", key, { audience: { users }, content: text("once") });
		const job: DeliverJob = { kind: "deliver", appId, messageId: sent.body.id, jobKey: "direct", part: 7, users };
		const shards = new Map<string, DurableObjectStub>();
		for (const u of users) {
			const s = await shardOfUser(env, appId, u);
			shards.set(s.name, s.stub);
		}
		for (const stub of shards.values()) await evictDurableObject(stub);
		const batch = createMessageBatch<FanoutJob>("warbler-fanout", [{ id: "m1", timestamp: Date.now(), attempts: 2, body: job }]);
		const ctx = createExecutionContext();
		await worker.queue(batch, env, ctx);
		const result = await getQueueResult(batch, ctx);
		expect(result.explicitAcks).toEqual(["m1"]);
		for (const u of users) expect(await inboxFor(env, appId, u).stats()).toEqual({ seq: 1, held: 1 });
		const msg = await call("GET", `/v1/messages/${sent.body.id}`, key);
		expect(msg.body.counts.targeted).toBe(3);
	});

	it("a resolve job that lands in the dead-letter queue goes back to the queue: no recipient is left out", async () => {
		const { appId, key } = await newApp();
		await tagUsers(key, "t", ["a1", "a2", "a3"]);
		// A message whose resolver never got through (D1 down, say): its row exists, no job ran for it.
		const id = "msg_0000000000deadletter0000";
		const now = new Date().toISOString();
		const later = new Date(Date.now() + 3_600_000).toISOString();
		await env.DB.prepare(
			"INSERT INTO messages (app_id, id, audience, content, options, body_hash, created_at, expires_at) VALUES (?, ?, ?, ?, '{}', 'x', ?, ?)",
		)
			.bind(appId, id, JSON.stringify({ tags: { any: ["t"] } }), JSON.stringify(text("y")), now, later)
			.run();
		const job: FanoutJob = {
			kind: "resolve",
			appId,
			messageId: id,
			audience: { tags: { any: ["t"] } },
			after: null,
			jobsSoFar: 0,
		};
		const batch = createMessageBatch<FanoutJob>("warbler-fanout-dlq", [
			{ id: "d1", timestamp: Date.now(), attempts: 1, body: job },
		]);
		const ctx = createExecutionContext();
		await worker.queue(batch, env, ctx);
		expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["d1"]);
		// Not finished with what was emitted (nothing): still to be delivered.
		const pending = await call("GET", `/v1/messages/${id}`, key);
		expect(pending.body.status).not.toBe("done");
		// The job it queued again, when it runs: everyone gets the message, and it is done.
		const again = createMessageBatch<FanoutJob>("warbler-fanout", [{ id: "r1", timestamp: Date.now(), attempts: 1, body: job }]);
		const ctx2 = createExecutionContext();
		await worker.queue(again, env, ctx2);
		await getQueueResult(again, ctx2);
		await eventually(
			() => call("GET", `/v1/messages/${id}`, key),
			(r) => r.body.status === "done" && r.body.counts.targeted === 3,
		);
		for (const u of ["a1", "a2", "a3"]) expect(await inboxFor(env, appId, u).stats()).toEqual({ seq: 1, held: 1 });
	});

	it("a job that throws is retried with backoff, not acked", async () => {
		const { appId, key } = await newApp();
		const sent = await call("POST", "/v1/messages", key, { audience: { users: ["z"] }, content: text("x") });
		const bad = { kind: "deliver", appId, messageId: sent.body.id, jobKey: "k", users: null } as unknown as FanoutJob;
		const batch = createMessageBatch<FanoutJob>("warbler-fanout", [{ id: "m1", timestamp: Date.now(), attempts: 3, body: bad }]);
		const ctx = createExecutionContext();
		await worker.queue(batch, env, ctx);
		const result = await getQueueResult(batch, ctx);
		expect(result.explicitAcks).toEqual([]);
		expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m1"]);
	});

	it("a recall racing the fan-out takes the message back from every inbox", async () => {
		const { key } = await newApp();
		const users = Array.from({ length: 250 }, (_, i) => `x${i}`);
		await tagUsers(key, "t", users);
		const sent = await call("POST", "/v1/messages", key, { audience: { tags: { any: ["t"] } }, content: text("recall me") });
		expect((await call("DELETE", `/v1/messages/${sent.body.id}`, key)).status).toBe(200);
		const s = await TestSocket.open(await clientToken(key, "x42"), "d");
		await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}/recipients/x42`, key),
			(r) => r.body?.status === "recalled",
			20_000,
		);
		await s.hello(0);
		await new Promise((r) => setTimeout(r, 200));
		expect(s.messages()).toEqual([]);
		expect((await call("GET", `/v1/messages/${sent.body.id}`, key)).body.status).toBe("recalled");
		s.close();
	}, 40_000);
});
