/**
 * Delivery bookkeeping in workerd, against real D1 and the real queue: the retry schedule, Retry-After,
 * what emitting costs an app without endpoints, and disabling an endpoint that failed for days. The
 * receiver here is an address nothing listens on (127.0.0.1:9), so every attempt fails; deliveries
 * that succeed, 410s and replays are covered end to end (test/e2e/webhooks.test.ts).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runWebhookJob } from "../../../core/webhooks/deliver.js";
import { emitWebhookEvent } from "../../../core/webhooks/emit.js";
import { DEFAULT_RETRY_SCHEDULE_S, nextDelayMs, parseRetryAfter } from "../../../core/webhooks/schedule.js";
import { pruneWebhookDeliveries } from "../../../core/webhooks/store.js";
import { webhookDeliveriesByDay } from "../../../core/webhooks/usage.js";
import { call, newApp } from "../http.js";

const DEAD_URL = "http://127.0.0.1:9/hook";

async function deliveries(appId: string) {
	return (
		await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE app_id = ? ORDER BY id").bind(appId).all<{
			id: string;
			event_id: string;
			event_type: string;
			body: string;
			attempts: number;
			status: string;
			next_attempt_at: number | null;
			last_error: string | null;
		}>()
	).results;
}

describe("retry schedule", () => {
	it("is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h with up to 20 % jitter, then stops", () => {
		expect(DEFAULT_RETRY_SCHEDULE_S).toEqual([5, 300, 1800, 7200, 18000, 36000, 86400]);
		DEFAULT_RETRY_SCHEDULE_S.forEach((s, i) => {
			for (let k = 0; k < 20; k++) {
				const ms = nextDelayMs(DEFAULT_RETRY_SCHEDULE_S, i + 1, null) as number;
				expect(ms).toBeGreaterThanOrEqual(s * 1000);
				expect(ms).toBeLessThanOrEqual(s * 1200);
			}
		});
		expect(nextDelayMs(DEFAULT_RETRY_SCHEDULE_S, 8, null)).toBeNull();
	});

	it("Retry-After replaces the delay (seconds or an HTTP date), bounded to 1 s – 24 h", () => {
		expect(nextDelayMs(DEFAULT_RETRY_SCHEDULE_S, 2, 7)).toBe(7_000);
		expect(nextDelayMs(DEFAULT_RETRY_SCHEDULE_S, 2, 0)).toBe(1_000);
		expect(nextDelayMs(DEFAULT_RETRY_SCHEDULE_S, 2, 10 ** 9)).toBe(86_400_000);
		expect(nextDelayMs(DEFAULT_RETRY_SCHEDULE_S, 8, 7)).toBeNull();
		const now = Date.parse("2026-12-01T12:00:00Z");
		expect(parseRetryAfter("120", now)).toBe(120);
		expect(parseRetryAfter("Tue, 01 Dec 2026 12:01:00 GMT", now)).toBe(60);
		expect(parseRetryAfter("soon", now)).toBeNull();
		expect(parseRetryAfter(null, now)).toBeNull();
	});
});

describe("emitting", () => {
	it("writes nothing for an app without endpoints, or for a type nobody subscribed to", async () => {
		const app = await newApp("no hooks");
		await emitWebhookEvent(env, app.appId, "message.accepted", { id: "msg_x" });
		expect(await deliveries(app.appId)).toEqual([]);
		const r = await call("POST", "/v1/webhooks", app.key, { url: DEAD_URL, events: ["schedule.fired"] });
		expect(r.status, r.text).toBe(201);
		await emitWebhookEvent(env, app.appId, "message.accepted", { id: "msg_x" });
		expect(await deliveries(app.appId)).toEqual([]);
		const off = await call("POST", "/v1/webhooks", app.key, { url: DEAD_URL, events: ["message.accepted"], enabled: false });
		expect(off.status).toBe(201);
		await emitWebhookEvent(env, app.appId, "message.accepted", { id: "msg_x" });
		expect(await deliveries(app.appId)).toEqual([]);
	});

	it("a send logs message.accepted for the subscribed endpoint; a failed attempt schedules the retry", async () => {
		const app = await newApp("hooks");
		const hook = await call("POST", "/v1/webhooks", app.key, { url: DEAD_URL, events: ["message.accepted"] });
		const sent = await call("POST", "/v1/messages", app.key, {
			audience: { users: ["u1"] },
			content: { type: "text", body: "x" },
		});
		expect(sent.status, sent.text).toBe(202);
		const [row] = await deliveries(app.appId);
		expect(row).toBeDefined();
		expect(JSON.parse(row!.body)).toMatchObject({ type: "message.accepted", data: { id: sent.body.id } });
		expect(row!.event_id).toMatch(/^msg_/);

		const before = Date.now();
		await runWebhookJob(env, { appId: app.appId, deliveryId: row!.id, due: 0, attempt: 0 });
		const [after] = await deliveries(app.appId);
		expect(after).toMatchObject({ status: "pending", attempts: 1 });
		expect(after!.last_error).toMatch(/request failed|no answer/);
		expect(after!.next_attempt_at! - before).toBeGreaterThanOrEqual(5_000);
		expect(after!.next_attempt_at! - before).toBeLessThan(7_000);
		// A stale job (the attempt it was queued for is past) does nothing.
		await runWebhookJob(env, { appId: app.appId, deliveryId: row!.id, due: 0, attempt: 0 });
		expect((await deliveries(app.appId))[0]!.attempts).toBe(1);

		const log = await call("GET", `/v1/webhooks/${hook.body.id}/deliveries`, app.key);
		expect(log.body.deliveries[0]).toMatchObject({ id: row!.id, type: "message.accepted", status: "pending", attempts: 1 });
		const month = new Date().toISOString().slice(0, 7);
		const usage = await webhookDeliveriesByDay(env, app.appId, month);
		expect(Object.values(usage).reduce((a, b) => a + b, 0)).toBe(1);
	});

	it("an endpoint whose every retry failed for 5 events in a row over 3 days is disabled and says why", async () => {
		const app = await newApp("failing hooks");
		const hook = await call("POST", "/v1/webhooks", app.key, { url: DEAD_URL, events: ["schedule.fired"] });
		const id = hook.body.id as string;
		await emitWebhookEvent(env, app.appId, "schedule.fired", { schedule_id: "s" });
		const [row] = await deliveries(app.appId);
		// Four events already exhausted their retries; this one is on its last attempt.
		await env.DB.batch([
			env.DB.prepare("UPDATE webhook_endpoints SET exhausted_streak = 4, failing_since = ? WHERE id = ?").bind(
				Date.now() - 4 * 86_400_000,
				id,
			),
			env.DB.prepare("UPDATE webhook_deliveries SET attempts = 7 WHERE id = ?").bind(row!.id),
		]);
		await runWebhookJob(env, { appId: app.appId, deliveryId: row!.id, due: 0, attempt: 7 });
		expect((await deliveries(app.appId))[0]).toMatchObject({ status: "failed", attempts: 8, next_attempt_at: null });
		const got = await call("GET", `/v1/webhooks/${id}`, app.key);
		expect(got.body.enabled).toBe(false);
		expect(got.body.disabled_reason).toMatch(/5 events in a row/);
		const audit = await env.DB.prepare("SELECT action, target FROM audit_log WHERE app_id = ? AND action = 'webhook.disabled'")
			.bind(app.appId)
			.all();
		expect(audit.results).toEqual([{ action: "webhook.disabled", target: id }]);
		// Replaying on a disabled endpoint is refused until it is enabled again.
		const replay = await call("POST", `/v1/webhooks/${id}/deliveries/${row!.id}/replay`, app.key);
		expect(replay.status).toBe(409);
	});

	it("fewer than 3 days of failures does not disable, however many events", async () => {
		const app = await newApp("recent failures");
		const hook = await call("POST", "/v1/webhooks", app.key, { url: DEAD_URL, events: ["schedule.fired"] });
		await emitWebhookEvent(env, app.appId, "schedule.fired", { schedule_id: "s" });
		const [row] = await deliveries(app.appId);
		await env.DB.batch([
			env.DB.prepare("UPDATE webhook_endpoints SET exhausted_streak = 40, failing_since = ? WHERE id = ?").bind(
				Date.now() - 86_400_000,
				hook.body.id,
			),
			env.DB.prepare("UPDATE webhook_deliveries SET attempts = 7 WHERE id = ?").bind(row!.id),
		]);
		await runWebhookJob(env, { appId: app.appId, deliveryId: row!.id, due: 0, attempt: 7 });
		expect((await call("GET", `/v1/webhooks/${hook.body.id}`, app.key)).body.enabled).toBe(true);
	});
});

describe("the delivery log is bounded", () => {
	it("the cron drops rows older than 30 days, and (hourly) all but the newest 1,000 of an endpoint", async () => {
		const app = await newApp("pruned log");
		const hook = await call("POST", "/v1/webhooks", app.key, { url: DEAD_URL, events: ["schedule.fired"] });
		const now = Date.parse("2026-12-01T10:00:00Z");
		const insert = env.DB.prepare(
			"INSERT INTO webhook_deliveries (app_id, id, endpoint_id, event_id, event_type, body, attempts, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'schedule.fired', '{}', 1, 'succeeded', ?, ?)",
		);
		const rows = Array.from({ length: 1_100 }, (_, i) => {
			const id = `whd_${String(i).padStart(6, "0")}`;
			// The 50 oldest are 31 days old.
			const at = i < 50 ? now - 31 * 86_400_000 : now - 1_000;
			return insert.bind(app.appId, id, hook.body.id, `msg_${i}`, at, at);
		});
		await env.DB.batch(rows);
		const count = async () =>
			(await env.DB.prepare("SELECT count(*) AS n, min(id) AS oldest FROM webhook_deliveries WHERE app_id = ?")
				.bind(app.appId)
				.first<{
					n: number;
					oldest: string;
				}>())!;
		await pruneWebhookDeliveries(env, now + 60_000 * 7); // not on the hour: by age only
		expect(await count()).toEqual({ n: 1_050, oldest: "whd_000050" });
		await pruneWebhookDeliveries(env, now); // on the hour: also by number
		expect(await count()).toEqual({ n: 1_000, oldest: "whd_000100" });
	});
});
