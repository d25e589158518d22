/**
 * Fault matrix, in workerd: D1 failing for a while in the middle of a broadcast's fan-out (injected
 * at the binding), and queue redelivery of each fan-out job kind. Whatever happens, every accepted
 * message reaches each recipient exactly once and its counts are exact; nothing is lost silently.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { FanoutJob } from "../../../core/fanout/jobs.js";
import { acceptMessage } from "../../../core/messages/accept.js";
import { inboxFor } from "../../../core/objects/shard.js";
import worker from "../../../workers/index.js";
import { call, clientToken, newApp } from "../http.js";
import { eventually, flakyD1, TestSocket } from "./helpers.js";

const userId = (i: number) => `fm-${String(i).padStart(4, "0")}`;

async function tagged(key: string, tag: string, n: number) {
	const users = Array.from({ length: n }, (_, i) => userId(i));
	for (let i = 0; i < users.length; i += 1000) {
		expect((await call("POST", `/v1/tags/${tag}/users`, key, { add: users.slice(i, i + 1000) })).status).toBe(200);
	}
	return users;
}

describe("fault matrix", () => {
	it("D1 failing while a broadcast pages its audience: the fan-out moves to the queue and everyone gets it once", async () => {
		const { appId, key } = await newApp();
		await tagged(key, "all-fm", 2500);
		const online = new Map<string, TestSocket>();
		for (const i of [5, 1500, 2400]) {
			const s = await TestSocket.open(await clientToken(key, userId(i)), "d");
			await s.hello(0);
			online.set(userId(i), s);
		}
		// The first page is read; the next three reads of the tag index fail.
		const broken = flakyD1(/user_tags/, 1, 3);
		const background: Promise<unknown>[] = [];
		const accepted = await acceptMessage(
			broken,
			appId,
			{ audience: { tags: { any: ["all-fm"] } }, content: { type: "text", body: "through the outage" } },
			{ background: (p) => background.push(p) },
		);
		await Promise.all(background);
		expect(broken.failed()).toBeGreaterThan(0); // the outage did happen, mid-fan-out
		const done = await eventually(
			() => call("GET", `/v1/messages/${accepted.id}`, key),
			(r) => r.body.status === "done",
			30_000,
		);
		expect(done.body.counts).toMatchObject({ targeted: 2500, failed: 0 });
		for (const s of online.values()) {
			await s.settle();
			expect(s.messages().filter((m) => m.id === accepted.id)).toHaveLength(1);
			s.close();
		}
		for (const i of [0, 999, 1000, 1999, 2000, 2499])
			expect(await inboxFor(env, appId, userId(i)).stats()).toEqual({ seq: 1, held: 1 });
	}, 60_000);

	it("every fan-out job kind delivered twice by the queue changes nothing the second time", async () => {
		const { appId, key } = await newApp();
		await tagged(key, "twice", 3);
		const s = await TestSocket.open(await clientToken(key, userId(1)), "d");
		await s.hello(0);
		const sent = await call("POST", "/v1/messages", key, {
			audience: { tags: { any: ["twice"] } },
			content: { type: "text", body: "x" },
		});
		await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.status === "done",
		);
		const run = async (job: FanoutJob) => {
			const batch = createMessageBatch<FanoutJob>("warbler-fanout", [
				{ id: crypto.randomUUID(), timestamp: Date.now(), attempts: 2, body: job },
			]);
			const ctx = createExecutionContext();
			await worker.queue(batch, env, ctx);
			await getQueueResult(batch, ctx);
		};
		const resolve: FanoutJob = {
			kind: "resolve",
			appId,
			messageId: sent.body.id,
			audience: { tags: { any: ["twice"] } },
			after: null,
			jobsSoFar: 0,
		};
		const deliver: FanoutJob = {
			kind: "deliver",
			appId,
			messageId: sent.body.id,
			jobKey: `u:${userId(0)}`,
			part: 1,
			users: [userId(0), userId(1), userId(2)],
		};
		await run(resolve);
		await run(deliver);
		await run(resolve);
		for (let i = 0; i < 3; i++) expect(await inboxFor(env, appId, userId(i)).stats()).toEqual({ seq: 1, held: 1 });
		const after = await call("GET", `/v1/messages/${sent.body.id}`, key);
		expect(after.body.counts).toMatchObject({ targeted: 3, delivered: 1 });

		expect((await call("DELETE", `/v1/messages/${sent.body.id}`, key)).status).toBe(200);
		const recall: FanoutJob = { kind: "recall", appId, messageId: sent.body.id };
		await run(recall);
		await run(recall);
		await s.settle();
		expect(s.frames.filter((f) => f.type === "recall")).toHaveLength(1);
		for (let i = 0; i < 3; i++) expect((await inboxFor(env, appId, userId(i)).stats()).held).toBe(0);
		s.close();
	});
});
