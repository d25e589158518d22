import { createExecutionContext, createScheduledController, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { automationCacheStats, automationsFor, MAX_CACHE_BYTES, MAX_ENTRY_BYTES } from "../../../core/automations/store.js";
import { matchesWhere } from "../../../core/automations/where.js";
import { db } from "../../../core/db/client.js";
import { automationTimerFor } from "../../../core/objects/automation-timer.js";
import { inboxFor } from "../../../core/objects/shard.js";
import worker from "../../../workers/index.js";
import { eventually, text } from "../delivery/helpers.js";
import { call, newApp } from "../http.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

function automation(key: string, extra: Record<string, unknown> = {}) {
	return call("POST", "/v1/automations", key, {
		name: "welcome",
		trigger: { event: "signed_up" },
		message: { content: text("hello from an automation") },
		...extra,
	});
}

const event = (key: string, user_id: string, name: string, extra: Record<string, unknown> = {}) =>
	call("POST", "/v1/events", key, { user_id, name, ...extra });

/** Messages this app's automations produced, from D1 (their idempotency keys name the trigger). */
async function automationMessages(appId: string) {
	const { results } = await env.DB.prepare(
		"SELECT id, idempotency_key AS key, audience, content FROM messages WHERE app_id = ? AND idempotency_key LIKE 'auto:%' ORDER BY id",
	)
		.bind(appId)
		.all<{ id: string; key: string; audience: string; content: string }>();
	return results;
}

const held = async (appId: string, user: string) => (await inboxFor(env, appId, user).stats()).held;

describe("automations: CRUD and validation", () => {
	it("creates, lists, reads, patches and deletes; 404 across apps", async () => {
		const { key } = await newApp();
		const created = await automation(key, {
			trigger: { event: "cart.updated", where: { attr: "total", op: "gt", value: 0 } },
			delay_seconds: 3600,
			cancel_on: ["order.placed"],
			once_per_user_within_seconds: 86400,
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			name: "welcome",
			trigger: { event: "cart.updated", where: { attr: "total", op: "gt", value: 0 } },
			delay_seconds: 3600,
			cancel_on: ["order.placed"],
			once_per_user_within_seconds: 86400,
			enabled: true,
		});
		const id = created.body.id as string;
		expect((await call("GET", `/v1/automations/${id}`, key)).body).toEqual(created.body);

		const patched = await call("PATCH", `/v1/automations/${id}`, key, { enabled: false, cancel_on: null, delay_seconds: 60 });
		expect(patched.status).toBe(200);
		expect(patched.body).toMatchObject({ enabled: false, cancel_on: [], delay_seconds: 60, once_per_user_within_seconds: 86400 });

		const second = await automation(key);
		const all = await call("GET", "/v1/automations?limit=1", key);
		expect(all.body.automations).toHaveLength(1);
		const page2 = await call("GET", `/v1/automations?limit=1&cursor=${all.body.next_cursor}`, key);
		expect([all.body.automations[0].id, page2.body.automations[0].id].sort()).toEqual([id, second.body.id].sort());
		const enabledOnly = await call("GET", "/v1/automations?enabled=true", key);
		expect(enabledOnly.body.automations.map((a: { id: string }) => a.id)).toEqual([second.body.id]);

		const other = await newApp("other");
		expect((await call("GET", `/v1/automations/${id}`, other.key)).status).toBe(404);
		expect((await call("PATCH", `/v1/automations/${id}`, other.key, { enabled: true })).status).toBe(404);
		expect((await call("DELETE", `/v1/automations/${id}`, other.key)).status).toBe(404);
		expect((await call("GET", "/v1/automations", other.key)).body.automations).toEqual([]);

		expect((await call("DELETE", `/v1/automations/${id}`, key)).status).toBe(204);
		expect((await call("GET", `/v1/automations/${id}`, key)).status).toBe(404);
	});

	it("answers 400 naming the field for bad automations and bad events", async () => {
		const { key } = await newApp();
		const paths = async (res: Promise<{ status: number; body: { error: { details: { path: string }[] } } }>) => {
			const r = await res;
			expect(r.status).toBe(400);
			return r.body.error.details.map((d) => d.path);
		};
		expect(await paths(automation(key, { message: { audience: { users: ["x"] }, content: text("x") } }))).toContain(
			"message.audience",
		);
		expect(await paths(automation(key, { trigger: { event: "bad name!" } }))).toContain("trigger.event");
		expect(await paths(automation(key, { delay_seconds: -1 }))).toContain("delay_seconds");
		expect(await paths(automation(key, { trigger: { event: "e", where: { attr: "x", op: "gt", value: true } } }))).toContain(
			"trigger.where.value",
		);
		expect(await paths(automation(key, { message: { content: text("x"), options: { idempotency_key: "mine" } } }))).toContain(
			"message.options.idempotency_key",
		);
		// An empty patch changes nothing and says so at the body's root, leaving the automation as it was.
		const existing = await automation(key);
		expect(existing.status).toBe(201);
		const empty = await call("PATCH", `/v1/automations/${existing.body.id}`, key, {});
		expect(empty.status).toBe(400);
		expect(empty.body.error.code).toBe("invalid_request");
		expect(empty.body.error.details).toEqual([{ path: "", message: "change at least one field" }]);
		expect((await call("GET", `/v1/automations/${existing.body.id}`, key)).body).toEqual(existing.body);

		expect(await paths(event(key, "", "e"))).toContain("user_id");
		expect(await paths(call("POST", "/v1/events", key, { name: "e" }))).toContain("user_id");
		expect(await paths(event(key, "u", "e", { time: "yesterday" }))).toContain("time");
		expect(await paths(event(key, "u", "e", { time: new Date(Date.now() + 600_000).toISOString() }))).toContain("time");
		expect(await paths(event(key, "u", "e", { time: ago(31 * 24 * 3600_000) }))).toContain("time");
		const batch = Array.from({ length: 5 }, (_, i) => ({ user_id: `u${i}`, name: "e" }));
		batch[3] = { user_id: "bad id!", name: "e" };
		expect(await paths(call("POST", "/v1/events", key, { events: batch }))).toEqual(["events[3].user_id"]);
		const tooMany = Array.from({ length: 1001 }, () => ({ user_id: "u", name: "e" }));
		expect(await paths(call("POST", "/v1/events", key, { events: tooMany }))).toContain("events");
		expect(await paths(call("POST", "/v1/events", key, { events: [{ user_id: "u", name: "e" }], user_id: "u" }))).toContain(
			"user_id",
		);
	});
});

describe("automations: firing", () => {
	it("an immediate automation sends to the triggering user only", async () => {
		const { appId, key } = await newApp();
		const a = await automation(key);
		const res = await event(key, "alice", "signed_up");
		expect(res.status).toBe(202);
		expect(res.body).toMatchObject({ accepted: 1, triggered: 1 });
		expect(res.body.event_ids).toHaveLength(1);
		expect(await held(appId, "alice")).toBe(1);
		expect(await held(appId, "bob")).toBe(0);
		const [msg] = await automationMessages(appId);
		expect(msg?.key).toBe(`auto:${a.body.id}:alice:${res.body.event_ids[0]}`);
		expect(JSON.parse(msg!.audience)).toEqual({ users: ["alice"] });
		expect(JSON.parse(msg!.content).body).toBe("hello from an automation");
		// Another event name triggers nothing.
		expect((await event(key, "alice", "logged_in")).body).toMatchObject({ accepted: 1, triggered: 0 });
	});

	it("a delayed automation waits in the user's timer and fires from its alarm", async () => {
		const { appId, key } = await newApp();
		await automation(key, { delay_seconds: 60 });
		// Happened 59 s ago: due in about a second.
		const res = await event(key, "carol", "signed_up", { time: ago(59_000) });
		expect(res.body).toMatchObject({ accepted: 1, triggered: 1 });
		const timer = automationTimerFor(env, appId, "carol");
		expect(await timer.pending()).toHaveLength(1);
		expect(await held(appId, "carol")).toBe(0);
		await sleep(1200);
		await runDurableObjectAlarm(timer);
		await eventually(
			() => held(appId, "carol"),
			(n) => n === 1,
		);
		expect(await timer.pending()).toEqual([]);
		expect(await automationMessages(appId)).toHaveLength(1);
	});

	it("a cancelling event that happens before the send is due cancels it, even when it arrives late", async () => {
		const { appId, key } = await newApp();
		await automation(key, { trigger: { event: "cart.updated" }, delay_seconds: 120, cancel_on: ["order.placed"] });
		// dave: updated 119.5 s ago, ordered 60 s ago → cancelled.
		expect((await event(key, "dave", "cart.updated", { time: ago(119_500) })).body.triggered).toBe(1);
		const timer = automationTimerFor(env, appId, "dave");
		expect(await timer.pending()).toHaveLength(1);
		await event(key, "dave", "order.placed", { time: ago(60_000) });
		expect(await timer.pending()).toEqual([]);
		// erin: the order arrives first but happened after the cart update (a late batch) → cancelled on arrival.
		await event(key, "erin", "order.placed", { time: ago(30_000) });
		expect((await event(key, "erin", "cart.updated", { time: ago(60_000) })).body.triggered).toBe(0);
		// frank: an order that happened BEFORE the cart update does not cancel it.
		await call("POST", "/v1/events", key, {
			events: [
				{ user_id: "frank", name: "order.placed", time: ago(119_800) },
				{ user_id: "frank", name: "cart.updated", time: ago(119_500) },
			],
		});
		const frankTimer = automationTimerFor(env, appId, "frank");
		expect(await frankTimer.pending()).toHaveLength(1);
		await sleep(700);
		await runDurableObjectAlarm(timer);
		await runDurableObjectAlarm(frankTimer);
		await eventually(
			() => held(appId, "frank"),
			(n) => n === 1,
		);
		expect(await held(appId, "dave")).toBe(0);
		expect(await held(appId, "erin")).toBe(0);
	});

	it("once_per_user_within_seconds suppresses a second trigger, per user, and survives in the timer", async () => {
		const { appId, key } = await newApp();
		await automation(key, { once_per_user_within_seconds: 3600 });
		expect((await event(key, "gus", "signed_up")).body.triggered).toBe(1);
		expect((await event(key, "gus", "signed_up")).body.triggered).toBe(0);
		expect((await event(key, "hal", "signed_up")).body.triggered).toBe(1);
		const twice = await call("POST", "/v1/events", key, {
			events: [
				{ user_id: "ivy", name: "signed_up" },
				{ user_id: "ivy", name: "signed_up" },
			],
		});
		expect(twice.body).toMatchObject({ accepted: 2, triggered: 1 });
		expect(await held(appId, "gus")).toBe(1);
		expect(await held(appId, "hal")).toBe(1);
		expect(await held(appId, "ivy")).toBe(1);
	});

	it("an event sent again with the same id (a retry) changes nothing and triggers nothing, for 24 hours", async () => {
		const { appId, key } = await newApp();
		await automation(key); // immediate: sends at once
		await automation(key, { name: "later", delay_seconds: 3600 }); // waits in the user's timer
		const first = await event(key, "rae", "signed_up", { id: "signup-rae-1" });
		expect(first.status).toBe(202);
		expect(first.body).toMatchObject({ accepted: 1, repeated: 0, triggered: 2, event_ids: ["signup-rae-1"] });
		const retry = await event(key, "rae", "signed_up", { id: "signup-rae-1" });
		expect(retry.body).toMatchObject({ accepted: 1, repeated: 1, triggered: 0, event_ids: ["signup-rae-1"] });
		// In a batch: a repeat of an earlier id, the same new id twice, and an event with no id.
		const batch = await call("POST", "/v1/events", key, {
			events: [
				{ id: "signup-rae-1", user_id: "rae", name: "signed_up" },
				{ id: "signup-sol-1", user_id: "sol", name: "signed_up" },
				{ id: "signup-sol-1", user_id: "sol", name: "signed_up" },
				{ user_id: "tia", name: "signed_up" },
			],
		});
		expect(batch.body).toMatchObject({ accepted: 4, repeated: 2, triggered: 4 });
		expect(batch.body.event_ids.slice(0, 3)).toEqual(["signup-rae-1", "signup-sol-1", "signup-sol-1"]);
		expect(batch.body.event_ids[3]).toMatch(/^evt_/);
		// One immediate message per user, and one delayed run waiting for each.
		const sent = await automationMessages(appId);
		expect(sent.map((m) => JSON.parse(m.audience).users[0]).sort()).toEqual(["rae", "sol", "tia"]);
		for (const u of ["rae", "sol", "tia"]) expect(await held(appId, u)).toBe(1);
		// Another app may use the same id.
		const other = await newApp();
		await automation(other.key);
		expect((await event(other.key, "rae", "signed_up", { id: "signup-rae-1" })).body.triggered).toBe(1);
		// An id past 24 hours is new again, and the minute cron forgets it.
		await env.DB.prepare("UPDATE event_ids SET seen_at = seen_at - 86400001 WHERE app_id = ?").bind(appId).run();
		await worker.scheduled(
			createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }),
			env,
			createExecutionContext(),
		);
		const left = await env.DB.prepare("SELECT count(*) AS n FROM event_ids WHERE app_id = ?").bind(appId).first<{ n: number }>();
		expect(left?.n).toBe(0);
		expect((await event(key, "rae", "signed_up", { id: "signup-rae-1" })).body).toMatchObject({ repeated: 0 });
	});

	it("an Idempotency-Key header names a batch: retried, its events without ids change nothing", async () => {
		const { key } = await newApp();
		await automation(key);
		const batch = {
			events: [
				{ user_id: "kim", name: "signed_up" },
				{ id: "own-id", user_id: "lou", name: "signed_up" },
			],
		};
		const headers = { "idempotency-key": "import-2026-12-01" };
		const first = await call("POST", "/v1/events", key, batch, { headers });
		expect(first.body).toMatchObject({ accepted: 2, repeated: 0, triggered: 2, event_ids: ["import-2026-12-01:0", "own-id"] });
		const retry = await call("POST", "/v1/events", key, batch, { headers });
		expect(retry.body).toMatchObject({ accepted: 2, repeated: 2, triggered: 0 });
		const bad = await call("POST", "/v1/events", key, batch, { headers: { "idempotency-key": "has space" } });
		expect(bad.status).toBe(400);
	});

	it("refuses a malformed event id", async () => {
		const { key } = await newApp();
		const bad = await call("POST", "/v1/events", key, { events: [{ id: "has space", user_id: "u", name: "e" }] });
		expect(bad.status).toBe(400);
		expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(["events[0].id"]);
		const beside = await call("POST", "/v1/events", key, { events: [{ user_id: "u", name: "e" }], id: "x" });
		expect(beside.status).toBe(400);
	});

	it("deleting a user drops their waiting sends: nothing is sent later and their inbox stays gone", async () => {
		const { appId, key } = await newApp();
		await automation(key, { name: "later", delay_seconds: 3600 });
		expect((await call("PUT", "/v1/users/leaver", key, {})).status).toBeLessThan(300);
		expect((await event(key, "leaver", "signed_up")).body.triggered).toBe(1);
		const timer = automationTimerFor(env, appId, "leaver");
		expect(await timer.pending()).toHaveLength(1);
		expect((await call("DELETE", "/v1/users/leaver", key)).status).toBe(204);
		expect(await timer.pending()).toHaveLength(0);
		await runDurableObjectAlarm(timer);
		expect(await automationMessages(appId)).toEqual([]);
		expect(await inboxFor(env, appId, "leaver").stats()).toEqual({ seq: 0, held: 0 });
	});

	it("the isolate's automation cache keeps a byte bound: an app too large for it is served, not cached", async () => {
		const small = await newApp();
		await automation(small.key);
		const big = await newApp();
		// 80 enabled automations of ~60 KB each: ~4.8 MB of definitions, over one app's share.
		const body = "x".repeat(60_000);
		await env.DB.prepare(
			`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 80)
			 INSERT INTO automations (app_id, id, name, trigger_event, definition, enabled, created_at, updated_at)
			 SELECT ?1, 'aut_big' || x, 'big', 'signed_up', json_object('trigger', json_object('event', 'signed_up'), 'message', json_object('content', json_object('type', 'text', 'body', ?2))), 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM c`,
		)
			.bind(big.appId, body)
			.run();
		const d = db(env);
		const before = automationCacheStats().bytes;
		expect((await automationsFor(d, small.appId)).byEvent.get("signed_up")).toHaveLength(1);
		const afterSmall = automationCacheStats().bytes;
		expect(afterSmall).toBeGreaterThan(before);
		const loaded = await automationsFor(d, big.appId);
		expect(loaded.byEvent.get("signed_up")).toHaveLength(80);
		expect(loaded.bytes).toBeGreaterThan(MAX_ENTRY_BYTES);
		expect(automationCacheStats().bytes).toBe(afterSmall); // served, not kept
		expect(automationCacheStats().bytes).toBeLessThanOrEqual(MAX_CACHE_BYTES);
	});

	it("where filters on event properties", async () => {
		const { appId, key } = await newApp();
		await automation(key, {
			trigger: {
				event: "purchase",
				where: {
					and: [
						{ attr: "total", op: "gte", value: 100 },
						{ attr: "meta.country", op: "in", value: ["DE", "FR"] },
					],
				},
			},
		});
		expect((await event(key, "jo", "purchase", { properties: { total: 150, meta: { country: "DE" } } })).body.triggered).toBe(1);
		expect((await event(key, "kim", "purchase", { properties: { total: 50, meta: { country: "DE" } } })).body.triggered).toBe(0);
		expect((await event(key, "lee", "purchase", { properties: { total: "150", meta: { country: "FR" } } })).body.triggered).toBe(
			0,
		);
		expect((await event(key, "max", "purchase")).body.triggered).toBe(0);
		expect(await held(appId, "jo")).toBe(1);
		expect(await held(appId, "kim")).toBe(0);
	});

	it("disabled automations never fire, and disabling stops a waiting send", async () => {
		const { appId, key } = await newApp();
		await automation(key, { enabled: false });
		const delayed = await automation(key, { name: "later", delay_seconds: 60 });
		expect((await event(key, "ned", "signed_up", { time: ago(59_500) })).body.triggered).toBe(1);
		await call("PATCH", `/v1/automations/${delayed.body.id}`, key, { enabled: false });
		expect((await event(key, "ned", "signed_up")).body.triggered).toBe(0);
		await sleep(700);
		const timer = automationTimerFor(env, appId, "ned");
		await runDurableObjectAlarm(timer);
		expect(await timer.pending()).toEqual([]);
		expect(await held(appId, "ned")).toBe(0);
		expect(await automationMessages(appId)).toEqual([]);
	});

	it("a batch of events triggers per event and user", async () => {
		const { appId, key } = await newApp();
		await automation(key);
		await automation(key, { name: "second", trigger: { event: "signed_up", where: { attr: "plan", op: "eq", value: "pro" } } });
		const events = Array.from({ length: 30 }, (_, i) => ({
			user_id: `b${i % 10}`,
			name: i < 10 ? "signed_up" : "noise",
			properties: { plan: i % 2 === 0 ? "pro" : "free" },
		}));
		const res = await call("POST", "/v1/events", key, { events });
		expect(res.status).toBe(202);
		expect(res.body).toMatchObject({ accepted: 30, triggered: 15 });
		expect(new Set(res.body.event_ids).size).toBe(30);
		expect(await held(appId, "b0")).toBe(2);
		expect(await held(appId, "b1")).toBe(1);
	});

	it("a retried send (same trigger) is not sent twice: the idempotency key replays it", async () => {
		const { appId, key } = await newApp();
		const a = await automation(key, { delay_seconds: 60 });
		const ev = { id: "evt_retry", userId: "oz", name: "signed_up", time: Date.now() - 59_500 };
		const trigger = {
			automationId: a.body.id,
			delaySeconds: 60,
			cancelOn: [],
			oncePerSeconds: null,
			message: { content: { type: "text" as const, body: "hello from an automation" } },
		};
		const timer = automationTimerFor(env, appId, "oz");
		expect((await timer.ingest(appId, "oz", [{ event: ev, triggers: [trigger], cancels: false }])).triggered).toBe(1);
		// The same trigger stored twice is one pending send.
		expect((await timer.ingest(appId, "oz", [{ event: ev, triggers: [trigger], cancels: false }])).triggered).toBe(0);
		await sleep(700);
		await runDurableObjectAlarm(timer);
		await eventually(
			() => held(appId, "oz"),
			(n) => n === 1,
		);
		// As if the alarm had sent but lost the row's removal: the same trigger comes due again.
		await timer.ingest(appId, "oz", [{ event: ev, triggers: [trigger], cancels: false }]);
		await runDurableObjectAlarm(timer);
		expect(await timer.pending()).toEqual([]);
		expect(await held(appId, "oz")).toBe(1);
		expect(await automationMessages(appId)).toHaveLength(1);
	});
});

describe("automations: contract", () => {
	it("documents the event and automation routes in the OpenAPI document", async () => {
		const res = await call("GET", "/v1/openapi.json", "none");
		expect(res.status).toBe(200);
		const paths = res.body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
		expect(Object.keys(paths["/v1/events"] ?? {})).toEqual(["post"]);
		expect(paths["/v1/events"]?.post?.responses).toHaveProperty(["202"]);
		expect(Object.keys(paths["/v1/automations"] ?? {}).sort()).toEqual(["get", "post"]);
		expect(Object.keys(paths["/v1/automations/{id}"] ?? {}).sort()).toEqual(["delete", "get", "patch"]);
		expect(res.body.components.schemas).toHaveProperty(["AutomationMessage"]);
		expect(res.body.components.schemas.AutomationMessage.properties).not.toHaveProperty(["audience"]);
	});
});

describe("matchesWhere", () => {
	it("evaluates typed conditions like the SQL compiler", () => {
		const p = { plan: "pro", n: 5, flag: true, nil: null, addr: { city: "Berlin" } };
		expect(matchesWhere({ attr: "plan", op: "eq", value: "pro" }, p)).toBe(true);
		expect(matchesWhere({ attr: "n", op: "eq", value: "5" }, p)).toBe(false);
		expect(matchesWhere({ attr: "flag", op: "eq", value: true }, p)).toBe(true);
		expect(matchesWhere({ attr: "missing", op: "ne", value: "x" }, p)).toBe(true);
		expect(matchesWhere({ attr: "plan", op: "ne", value: "pro" }, p)).toBe(false);
		expect(matchesWhere({ attr: "n", op: "in", value: [1, 5] }, p)).toBe(true);
		expect(matchesWhere({ attr: "n", op: "in", value: ["5"] }, p)).toBe(false);
		expect(matchesWhere({ attr: "n", op: "gt", value: 4 }, p)).toBe(true);
		expect(matchesWhere({ attr: "n", op: "lte", value: 4 }, p)).toBe(false);
		expect(matchesWhere({ attr: "plan", op: "lt", value: "zzz" }, p)).toBe(true);
		expect(matchesWhere({ attr: "plan", op: "gt", value: 1 }, p)).toBe(false);
		expect(matchesWhere({ attr: "nil", op: "exists" }, p)).toBe(true);
		expect(matchesWhere({ attr: "missing", op: "exists", value: false }, p)).toBe(true);
		expect(matchesWhere({ attr: "addr.city", op: "eq", value: "Berlin" }, p)).toBe(true);
		expect(matchesWhere({ attr: "plan.x", op: "exists" }, p)).toBe(false);
		expect(
			matchesWhere({ or: [{ attr: "plan", op: "eq", value: "free" }, { and: [{ attr: "n", op: "gte", value: 5 }] }] }, p),
		).toBe(true);
		expect(matchesWhere({ attr: "plan", op: "eq", value: "pro" }, undefined)).toBe(false);
	});
});
