/**
 * Plans, rate limits, quotas and usage through the real Worker, its AppMeter and shard objects and
 * D1: what a backend sees (status, error body, headers, usage numbers) and what D1 holds afterwards.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meterFor } from "../../../core/objects/meter.js";
import { fireDue } from "../../../core/schedules/runner.js";
import { FRAME_BURST } from "../../../protocol/limits.js";
import { answer as answerOf } from "../../support/http.js";
import { connectRequest, eventually, TestSocket, text } from "../delivery/helpers.js";
import { ADMIN, call, clientToken, newApp, newKey, ok, type TestApp } from "../http.js";
import { expectError } from "./helpers.js";

let planSeq = 0;
/** A plan with these limits, and the app put on it. */
async function onPlan(app: TestApp, limits: Record<string, number>) {
	const id = `t${++planSeq}-${Date.now().toString(36)}`;
	await ok("POST", "/v1/admin/plans", ADMIN, { id, name: `Test ${id}`, limits });
	const r = await call("PUT", `/v1/admin/apps/${app.appId}/plan`, ADMIN, { plan_id: id });
	expect(r.status, r.text).toBe(200);
	return id;
}

const send = (key: string, users = ["u1"], extra: Record<string, unknown> = {}) =>
	call("POST", "/v1/messages", key, { audience: { users }, content: text("hi"), ...extra });

async function messageRows(appId: string) {
	return (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE app_id = ?").bind(appId).first<{ n: number }>())?.n;
}

async function webhookEvents(appId: string, type: string) {
	const rows = await env.DB.prepare("SELECT body FROM webhook_deliveries WHERE app_id = ? AND event_type = ?")
		.bind(appId, type)
		.all<{
			body: string;
		}>();
	return rows.results.map((r) => JSON.parse(r.body).data as { limit: string; used: number; max: number; period: string });
}

/** A webhook endpoint subscribed to the quota events (its receiver is nowhere: the rows are what we read). */
async function quotaHook(key: string) {
	await ok("POST", "/v1/webhooks", key, { url: "http://127.0.0.1:9/hook", events: ["quota.warning", "quota.exceeded"] });
}

describe("plans as data (admin)", () => {
	it("creates, lists, reads, replaces and deletes plans; assigns and clears an app's plan", async () => {
		const app = await newApp();
		const created = await call("POST", "/v1/admin/plans", ADMIN, { id: "crud-a", name: "A", limits: { templates: 3 } });
		expect(created.status, created.text).toBe(201);
		expect(created.body).toMatchObject({ id: "crud-a", name: "A", limits: { templates: 3 } });
		expectError(await call("POST", "/v1/admin/plans", ADMIN, { id: "crud-a", name: "again", limits: {} }), 409, "conflict");
		expect((await call("GET", "/v1/admin/plans", ADMIN)).body.plans.map((p: { id: string }) => p.id)).toContain("crud-a");
		const replaced = await call("PUT", "/v1/admin/plans/crud-a", ADMIN, { name: "A2", limits: { automations: 2 } });
		expect(replaced.body).toMatchObject({ id: "crud-a", name: "A2", limits: { automations: 2 } });
		expect((await call("GET", "/v1/admin/plans/crud-a", ADMIN)).body.limits).toEqual({ automations: 2 });

		const assigned = await call("PUT", `/v1/admin/apps/${app.appId}/plan`, ADMIN, { plan_id: "crud-a" });
		expect(assigned.body).toMatchObject({ app_id: app.appId, plan: { id: "crud-a" } });
		expect((await call("GET", `/v1/apps/${app.appId}`, ADMIN)).body.plan_id).toBe("crud-a");
		expect((await call("GET", "/v1/usage", app.key)).body.plan).toMatchObject({ id: "crud-a", limits: { automations: 2 } });
		// A plan an app is on cannot go.
		expectError(await call("DELETE", "/v1/admin/plans/crud-a", ADMIN), 409, "conflict");
		expect((await call("PUT", `/v1/admin/apps/${app.appId}/plan`, ADMIN, { plan_id: null })).body.plan).toBeNull();
		expect((await call("DELETE", "/v1/admin/plans/crud-a", ADMIN)).status).toBe(204);
		expectError(await call("GET", "/v1/admin/plans/crud-a", ADMIN), 404, "not_found");

		expectError(await call("PUT", `/v1/admin/apps/${app.appId}/plan`, ADMIN, { plan_id: "nope" }), 404, "not_found");
		expectError(await call("PUT", "/v1/admin/apps/app_nope/plan", ADMIN, { plan_id: null }), 404, "not_found");
		// Admin only: an app key cannot see or change plans.
		expectError(await call("GET", "/v1/admin/plans", app.key), 401, "unauthorized");
		expectError(await call("PUT", `/v1/admin/apps/${app.appId}/plan`, app.key, { plan_id: null }), 401, "unauthorized");
		expectError(
			await call("POST", "/v1/admin/plans", ADMIN, { id: "x", name: "x", limits: { templates: 0 } }),
			400,
			"invalid_request",
		);
		expectError(
			await call("POST", "/v1/admin/plans", ADMIN, { id: "x", name: "x", limits: { unknown: 1 } }),
			400,
			"invalid_request",
		);
	});

	it("an app on no plan has no limits and no RateLimit headers", async () => {
		const app = await newApp();
		const answers = await Promise.all(Array.from({ length: 30 }, () => call("GET", "/v1/tags", app.key)));
		expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
		expect(answers[0]!.headers.get("ratelimit-policy")).toBeNull();
	});
});

describe("rate limits", () => {
	it("per key: a burst over the plan's rate answers 429 with Retry-After and the RateLimit headers; another key has its own bucket", async () => {
		const app = await newApp();
		await onPlan(app, { api_requests_per_second_per_key: 3 });
		const t0 = Date.now();
		const answers = await Promise.all(Array.from({ length: 12 }, () => call("GET", "/v1/tags", app.key)));
		const elapsed = (Date.now() - t0) / 1000;
		const okCount = answers.filter((a) => a.status === 200).length;
		// A full bucket of 3, plus what refilled while the burst ran.
		expect(okCount).toBeGreaterThanOrEqual(3);
		expect(okCount).toBeLessThanOrEqual(3 + Math.ceil(elapsed * 3));
		const limited = answers.find((a) => a.status === 429)!;
		expectError(limited, 429, "rate_limited");
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
		expect(limited.headers.get("ratelimit-policy")).toBe('"per-key";q=3;w=1');
		expect(limited.headers.get("ratelimit")).toMatch(/^"per-key";r=0;t=1$/);
		expect(limited.headers.get("ratelimit-limit")).toBe("3");
		expect(limited.headers.get("ratelimit-remaining")).toBe("0");
		expect(limited.headers.get("ratelimit-reset")).toBe("1");
		const first = answers.find((a) => a.status === 200)!;
		expect(first.headers.get("ratelimit-policy")).toBe('"per-key";q=3;w=1');
		expect(Number(first.headers.get("ratelimit-remaining"))).toBeLessThan(3);

		const other = await newKey(app.appId);
		const res = await call("GET", "/v1/tags", other.secret);
		expect(res.status, res.text).toBe(200);
		// After a second the bucket is full again.
		await new Promise((r) => setTimeout(r, 1100));
		expect((await call("GET", "/v1/tags", app.key)).status).toBe(200);
	});

	it("per app: the keys of one app share its bucket; the 429 names the per-app policy", async () => {
		const app = await newApp();
		await onPlan(app, { api_requests_per_second_per_key: 100, api_requests_per_second_per_app: 4 });
		const second = await newKey(app.appId);
		const answers = await Promise.all(
			Array.from({ length: 14 }, (_, i) => call("GET", "/v1/tags", i % 2 ? app.key : second.secret)),
		);
		const limited = answers.filter((a) => a.status === 429);
		expect(limited.length).toBeGreaterThan(0);
		expectError(limited[0]!, 429, "rate_limited");
		expect(limited[0]!.headers.get("ratelimit-policy")).toBe('"per-key";q=100;w=1, "per-app";q=4;w=1');
		expect(limited[0]!.headers.get("ratelimit")).toMatch(/"per-app";r=0;t=1$/);
		expect(limited[0]!.headers.get("ratelimit-limit")).toBe("4");
		expect(limited[0]!.headers.get("retry-after")).toBe("1");
		// Another app is not affected.
		const other = await newApp();
		await onPlan(other, { api_requests_per_second_per_app: 4 });
		expect((await call("GET", "/v1/tags", other.key)).status).toBe(200);
	});
});

describe("quotas", () => {
	it("messages per month: 202 up to the limit, then 429 quota_exceeded naming it; nothing more is stored; warning and exceeded fire once", async () => {
		const app = await newApp();
		await quotaHook(app.key);
		await onPlan(app, { messages_per_month: 5 });
		// A bad send and an idempotent replay do not use the quota.
		expectError(await call("POST", "/v1/messages", app.key, { audience: { users: ["u1"] } }), 400, "invalid_request");
		expect((await send(app.key, ["u1"], { options: { idempotency_key: "k1" } })).status).toBe(202);
		expect((await send(app.key, ["u1"], { options: { idempotency_key: "k1" } })).status).toBe(200);
		for (let i = 0; i < 4; i++) expect((await send(app.key)).status).toBe(202);
		expect(await messageRows(app.appId)).toBe(5);
		for (let i = 0; i < 3; i++) {
			const refused = await send(app.key);
			expectError(refused, 429, "quota_exceeded");
			expect(refused.body.error.details).toEqual([{ path: "limits.messages_per_month", message: "5 of 5 used this month" }]);
			const retry = Number(refused.headers.get("retry-after"));
			expect(retry).toBeGreaterThan(0);
			expect(retry).toBeLessThanOrEqual(31 * 86400);
			// Every 429 carries the RateLimit fields: here the quota, as a policy over the month.
			expect(refused.headers.get("ratelimit-policy")).toMatch(/^"messages_per_month";q=5;w=(2419200|2505600|2592000|2678400)$/);
			expect(refused.headers.get("ratelimit")).toBe(`"messages_per_month";r=0;t=${retry}`);
			expect(refused.headers.get("ratelimit-limit")).toBe("5");
			expect(refused.headers.get("ratelimit-remaining")).toBe("0");
			expect(refused.headers.get("ratelimit-reset")).toBe(String(retry));
		}
		expect(await messageRows(app.appId)).toBe(5);
		const warnings = await webhookEvents(app.appId, "quota.warning");
		expect(warnings).toHaveLength(1);
		expect(warnings[0]).toMatchObject({ limit: "messages_per_month", used: 4, max: 5 });
		const exceeded = await webhookEvents(app.appId, "quota.exceeded");
		expect(exceeded).toHaveLength(1);
		expect(exceeded[0]).toMatchObject({ limit: "messages_per_month", used: 5, max: 5 });
		const usage = (await call("GET", "/v1/usage", app.key)).body;
		expect(usage.totals.messages_accepted).toBe(5);
		expect(usage.quotas).toEqual([{ limit: "messages_per_month", used: 5, max: 5, period: "month" }]);

		// A bigger plan lifts the refusal at once.
		await onPlan(app, { messages_per_month: 10 });
		expect((await send(app.key)).status).toBe(202);
	});

	it("automation sends count against messages_per_month; over it the event is accepted and its send is not made", async () => {
		const app = await newApp();
		await ok("POST", "/v1/automations", app.key, {
			name: "welcome",
			trigger: { event: "signed_up" },
			message: { content: text("welcome") },
		});
		await onPlan(app, { messages_per_month: 3 });
		expect((await send(app.key)).status).toBe(202);
		const events = await call("POST", "/v1/events", app.key, {
			events: ["a", "b", "c", "d"].map((u) => ({ user_id: u, name: "signed_up" })),
		});
		expect(events.status, events.text).toBe(202);
		expect(events.body.accepted).toBe(4);
		// One API send and two automation sends fill the quota of three; the other two events sent nothing.
		expect(await messageRows(app.appId)).toBe(3);
		const usage = (await call("GET", "/v1/usage", app.key)).body;
		expect(usage.totals.messages_accepted).toBe(3);
		expectError(await send(app.key), 429, "quota_exceeded");
	});

	it("a schedule's occurrence over messages_per_month is not sent, and the schedule moves on", async () => {
		const app = await newApp();
		await onPlan(app, { messages_per_month: 1 });
		const first = await call("POST", "/v1/schedules", app.key, {
			message: { audience: { users: ["sam"] }, content: text("planned") },
			when: { at: new Date(Date.now() + 1200).toISOString() },
		});
		expect(first.status, first.text).toBe(201);
		expect((await send(app.key)).status).toBe(202);
		await new Promise((r) => setTimeout(r, 1300));
		await fireDue(env, app.appId, first.body.id);
		const after = (await call("GET", `/v1/schedules/${first.body.id}`, app.key)).body;
		expect(after.status).toBe("done");
		expect(after.runs).toEqual([]);
		expect(await messageRows(app.appId)).toBe(1);
		expect((await call("GET", "/v1/usage", app.key)).body.totals.messages_accepted).toBe(1);
	});

	it("mau: past the plan's monthly active users (read from the shards within a minute) sends answer 429 naming mau", async () => {
		const app = await newApp();
		await onPlan(app, { mau: 1 });
		const sockets = [];
		for (const u of ["m1", "m2"]) {
			const s = await TestSocket.open(await clientToken(app.key, u), "d");
			await s.hello();
			sockets.push(s);
		}
		const refused = await eventually(
			() => send(app.key, ["m1"]),
			(r) => r.status === 429,
		);
		expectError(refused, 429, "quota_exceeded");
		expect(refused.body.error.details).toEqual([{ path: "limits.mau", message: "2 of 1 used this month" }]);
		const usage = (await call("GET", "/v1/usage", app.key)).body;
		expect(usage.totals.mau).toBe(2);
		expect(usage.quotas).toEqual([{ limit: "mau", used: 2, max: 1, period: "month" }]);
		for (const s of sockets) s.close();
	});

	it("deliveries per month: read from the statistics rollups; past the limit sends answer 429 naming it", async () => {
		const app = await newApp();
		await onPlan(app, { deliveries_per_month: 2 });
		const s = await TestSocket.open(await clientToken(app.key, "dee"), "d");
		await s.hello();
		for (let i = 0; i < 2; i++) expect((await send(app.key, ["dee"])).status).toBe(202);
		await s.next((f) => f.type === "message" && f.seq === 2);
		// The meter reads deliveries at most once a minute; make its last reading a minute old.
		await runInDurableObject(meterFor(env, app.appId), (_o, state) => {
			state.storage.sql.exec("UPDATE external SET at = 0");
		});
		const refused = await eventually(
			() => send(app.key, ["nobody"]),
			(r) => r.status === 429,
		);
		expectError(refused, 429, "quota_exceeded");
		expect(refused.body.error.details[0].path).toBe("limits.deliveries_per_month");
		const usage = (await call("GET", "/v1/usage", app.key)).body;
		expect(usage.totals.deliveries).toEqual({ websocket: 2 });
		expect(usage.quotas).toEqual([{ limit: "deliveries_per_month", used: 2, max: 2, period: "month" }]);
		s.close();
	});

	it("objects: the template over the plan's limit is refused with 429 quota_exceeded; the warning fires once", async () => {
		const app = await newApp();
		await quotaHook(app.key);
		await onPlan(app, { templates: 2 });
		const tpl = (n: number) =>
			call("POST", "/v1/templates", app.key, { name: `t${n}`, default_locale: "en", variants: { en: text("x") } });
		expect((await tpl(1)).status).toBe(201);
		expect((await tpl(2)).status).toBe(201);
		const refused = await tpl(3);
		expectError(refused, 429, "quota_exceeded");
		expect(refused.body.error.details[0].path).toBe("limits.templates");
		expect(refused.headers.get("retry-after")).toBe("3600");
		expect(refused.headers.get("ratelimit-policy")).toBe('"templates";q=2');
		expect(refused.headers.get("ratelimit")).toBe('"templates";r=0;t=3600');
		expectError(await tpl(4), 429, "quota_exceeded");
		expect((await call("GET", "/v1/templates", app.key)).body.templates).toHaveLength(2);
		expect(await webhookEvents(app.appId, "quota.warning")).toEqual([{ limit: "templates", used: 2, max: 2, period: "total:2" }]);
		expect(await webhookEvents(app.appId, "quota.exceeded")).toHaveLength(1);
	});

	it("content size: a plan's smaller limit answers 413 naming it", async () => {
		const app = await newApp();
		await onPlan(app, { content_bytes: 100 });
		expect((await send(app.key)).status).toBe(202);
		const big = await call("POST", "/v1/messages", app.key, { audience: { users: ["u1"] }, content: text("x".repeat(200)) });
		expectError(big, 413, "payload_too_large");
		expect(big.body.error.details[0].path).toBe("limits.content_bytes");
	});
});

describe("per-user limits", () => {
	it("connections and devices per user: the plan's smaller limits refuse before the upgrade", async () => {
		const app = await newApp();
		await onPlan(app, { connections_per_user: 1, devices_per_user: 2 });
		const token = await clientToken(app.key, "carol");
		const phone = await TestSocket.open(token, "phone");
		await phone.hello();
		const second = await answerOf(connectRequest({ token, device: "tablet" }));
		expectError(second, 429, "quota_exceeded");
		expect(second.body.error.details[0].path).toBe("limits.connections_per_user");
		expect(second.headers.get("retry-after")).toBe("60");
		expect(second.headers.get("ratelimit")).toBe('"connections_per_user";r=0;t=60');
		// The same device reconnecting replaces its own connection.
		const again = await TestSocket.open(token, "phone");
		await again.hello();
		// Devices: one more registered is fine, the third is refused (the hard limit is 32).
		expect(
			(await call("POST", "/v1/users/carol/devices", app.key, { id: "fcm-1", platform: "android", channel: "fcm", token: "t" }))
				.status,
		).toBe(201);
		const third = await call("POST", "/v1/users/carol/devices", app.key, {
			id: "fcm-2",
			platform: "android",
			channel: "fcm",
			token: "t",
		});
		expectError(third, 409, "conflict");
		expect(third.body.error.details[0].message).toBe("over 2 devices per user");
		again.close();
		phone.close();
	});
});

describe("usage", () => {
	it("equals a recount of what the app did: requests, messages, deliveries, opens, MAU, peak connections; another app sees none of it", async () => {
		const app = await newApp();
		await onPlan(app, { api_requests_per_second_per_key: 1000 });
		let requests = 0;
		const req = async (method: string, path: string, body?: unknown) => {
			requests++;
			return call(method, path, app.key, body);
		};
		const token = await clientToken(app.key, "alice");
		requests++;
		const alice = await TestSocket.open(token, "phone");
		await alice.hello();
		const sent: string[] = [];
		for (let i = 0; i < 3; i++) {
			const r = await req("POST", "/v1/messages", { audience: { users: ["alice", "bob"] }, content: text(`m${i}`) });
			expect(r.status).toBe(202);
			sent.push(r.body.id);
		}
		expect((await req("POST", "/v1/messages", { audience: { users: [] }, content: text("bad") })).status).toBe(400);
		await alice.next((f) => f.type === "message" && f.id === sent[2]);
		alice.send({ type: "event", id: sent[0], name: "opened" });
		alice.send({ type: "event", id: sent[1], name: "clicked" });
		await alice.settle();
		await req("GET", "/v1/tags");

		const today = new Date().toISOString().slice(0, 10);
		// Each usage request counts itself (its meter call comes before the read).
		const usage = await eventually(
			async () => {
				requests++;
				return (await call("GET", "/v1/usage", app.key)).body;
			},
			(u) => u.totals.opens === 2,
		);
		const day = usage.days.find((d: { date: string }) => d.date === today);
		expect(usage.month).toBe(today.slice(0, 7));
		expect(usage.days.at(-1).date).toBe(today);
		expect(day.messages_accepted).toBe(3);
		expect(day.deliveries).toEqual({ websocket: 3 });
		expect(day.opens).toBe(2);
		expect(day.clicks).toBe(1);
		expect(day.peak_connections).toBe(1);
		expect(usage.totals.mau).toBe(1);
		expect(usage.totals.messages_accepted).toBe(3);
		expect(usage.totals.api_requests).toBe(requests);
		expect(day.api_requests).toBe(requests);
		const again = (await call("GET", "/v1/usage", app.key)).body;
		expect(again.totals.api_requests).toBe(usage.totals.api_requests + 1);
		expect(usage.mau_definition).toMatch(/WebSocket/);
		expect(usage.estimated_cost.currency).toBe("USD");
		const workers = usage.estimated_cost.lines.find((l: { item: string }) => l.item === "Workers requests");
		expect(workers).toMatchObject({ quantity: usage.totals.api_requests, unit_price: 0.3, per: 1_000_000 });
		expect(usage.estimated_cost.total).toBeGreaterThan(0);

		// Isolation: another app's usage has none of it, and a past month is empty.
		const other = await newApp();
		const theirs = (await call("GET", "/v1/usage", other.key)).body;
		expect(theirs.totals).toMatchObject({ messages_accepted: 0, opens: 0, mau: 0, deliveries: {} });
		expect(theirs.plan).toBeNull();
		expect(theirs.quotas).toEqual([]);
		const past = (await call("GET", "/v1/usage?month=2020-02", app.key)).body;
		expect(past.days).toHaveLength(29);
		expect(past.totals).toMatchObject({ api_requests: 0, messages_accepted: 0, mau: 0 });
		expectError(await call("GET", "/v1/usage?month=2999-01", app.key), 400, "invalid_request");
		expectError(await call("GET", "/v1/usage?month=2026-13", app.key), 400, "invalid_request");
		alice.close();
	});

	it("counts every request of an app without a plan (after the answer)", async () => {
		const app = await newApp();
		for (let i = 0; i < 5; i++) await call("GET", "/v1/tags", app.key);
		await eventually(
			async () => (await call("GET", "/v1/usage", app.key)).body.totals.api_requests,
			(n) => n >= 6,
		);
	});
});

describe("WebSocket frame limits", () => {
	it("a flood of frames gets an error frame rate_limited, then close 4004", async () => {
		const app = await newApp();
		const s = await TestSocket.open(await clientToken(app.key, "flood"), "d");
		await s.hello();
		for (let i = 0; i < FRAME_BURST * 2; i++) s.send({ type: "ack", seq: 0 });
		const closed = await s.waitClosed();
		expect(closed.code).toBe(4004);
		expect(s.frames.some((f) => f.type === "error" && f.code === "rate_limited")).toBe(true);
	});

	it("a client within its budget is never cut off", async () => {
		const app = await newApp();
		const s = await TestSocket.open(await clientToken(app.key, "calm"), "d");
		await s.hello();
		for (let i = 0; i < FRAME_BURST - 5; i++) s.send({ type: "ack", seq: 0 });
		await s.settle();
		expect(s.closed).toBeUndefined();
		s.close();
	});
});
