/**
 * Accepted means driven to the end: a broadcast whose fan-out stops after it was accepted (its queue
 * message lost with the machine that held it) is driven again by its ledger's alarm, and by the
 * minute cron's sweep, until every shard has it. Simulated here by accepting a broadcast whose
 * resolve job never reaches the queue.
 */
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { db } from "../../../core/db/client.js";
import { messages } from "../../../core/db/schema.js";
import type { ResolveJob } from "../../../core/fanout/jobs.js";
import { ledgerFor } from "../../../core/objects/ledger.js";
import type { MessageLedger } from "../../../durable-objects/ledger/message-ledger.js";
import worker from "../../../workers/index.js";
import { call, clientToken, newApp } from "../http.js";
import { eventually, TestSocket, text } from "./helpers.js";

/** A broadcast accepted (its D1 row and its ledger's watch) whose resolve job was lost before the queue. */
async function acceptedButLost(appId: string, tag: string, createdAt: string, quietMs: number) {
	const id = `msg_lost_${crypto.randomUUID().replaceAll("-", "")}`;
	await db(env)
		.insert(messages)
		.values({
			appId,
			id,
			audience: { tags: { any: [tag] } },
			content: text("driven to the end") as never,
			options: {},
			idempotencyKey: null,
			bodyHash: "x",
			createdAt,
			expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
			template: null,
			isDirect: false,
		});
	const resolve: ResolveJob = {
		kind: "resolve",
		appId,
		messageId: id,
		audience: { tags: { any: [tag] } },
		after: null,
		jobsSoFar: 0,
	};
	await ledgerFor(env, appId, id).begin(resolve, quietMs);
	return id;
}

const doneAt = async (appId: string, id: string) =>
	(
		await db(env)
			.select({ at: messages.fanoutDoneAt })
			.from(messages)
			.where(and(eq(messages.appId, appId), eq(messages.id, id)))
			.get()
	)?.at;

describe("broadcasts are driven to the end", () => {
	it("a fan-out lost after acceptance is re-driven by the ledger's alarm: every recipient gets it once, status done", async () => {
		const { appId, key } = await newApp();
		const users = Array.from({ length: 150 }, (_, i) => `r${i}`);
		expect((await call("POST", "/v1/tags/lost/users", key, { add: users })).status).toBe(200);
		const s = await TestSocket.open(await clientToken(key, "r7"), "d");
		await s.hello(0);
		const id = await acceptedButLost(appId, "lost", new Date().toISOString(), 2000);
		// Nothing was queued: nobody has it, and a watchdog run inside the window changes nothing.
		await runDurableObjectAlarm(ledgerFor(env, appId, id));
		await new Promise((r) => setTimeout(r, 300));
		expect(s.messages()).toEqual([]);
		expect(await doneAt(appId, id)).toBeNull();
		// Past the window with no progress, the ledger's alarm (set for then) drives the fan-out again.
		const msg = await eventually(
			() => call("GET", `/v1/messages/${id}`, key),
			(r) => r.body.status === "done" && r.body.counts.targeted === 150,
			20_000,
		);
		expect(msg.body.counts).toMatchObject({ targeted: 150, failed: 0 });
		await s.next((f) => f.type === "message" && f.id === id);
		expect(
			await eventually(
				() => doneAt(appId, id),
				(at) => typeof at === "string",
			),
		).toBeTruthy();
		// A later alarm finds it done and sends nothing again.
		await runDurableObjectAlarm(ledgerFor(env, appId, id));
		await new Promise((r) => setTimeout(r, 300));
		expect(s.messages().filter((m) => m.id === id)).toHaveLength(1);
		s.close();
	}, 40_000);

	it("the minute cron re-drives a broadcast that stalled long ago, and leaves finished ones alone", async () => {
		const { appId, key } = await newApp();
		expect((await call("POST", "/v1/tags/old/users", key, { add: ["o1", "o2", "o3"] })).status).toBe(200);
		const id = await acceptedButLost(appId, "old", new Date(Date.now() - 120_000).toISOString(), 1);
		// Its alarm was lost too (the test takes it away); only the sweep can find it now.
		await runInDurableObject(ledgerFor(env, appId, id), (_l: MessageLedger, state) => state.storage.deleteAlarm());
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
		const msg = await eventually(
			() => call("GET", `/v1/messages/${id}`, key),
			(r) => r.body.status === "done" && r.body.counts.targeted === 3,
			20_000,
		);
		expect(msg.body.counts.targeted).toBe(3);
		expect(
			await eventually(
				() => doneAt(appId, id),
				(at) => typeof at === "string",
			),
		).toBeTruthy();
	}, 40_000);

	it("a broadcast sent through the API records the end of its fan-out", async () => {
		const { appId, key } = await newApp();
		expect((await call("POST", "/v1/tags/fine/users", key, { add: ["f1", "f2"] })).status).toBe(200);
		const sent = await call("POST", "/v1/messages", key, { audience: { tags: { any: ["fine"] } }, content: text("ok") });
		expect(sent.status).toBe(202);
		await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.status === "done",
		);
		expect(
			await eventually(
				() => doneAt(appId, sent.body.id),
				(at) => typeof at === "string",
			),
		).toBeTruthy();
	});
});
