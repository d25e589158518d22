import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverToShards, usersForVendors } from "../../../core/fanout/deliver.js";
import { RETRY_PARTS } from "../../../core/fanout/jobs.js";
import { loadDeliverySpec } from "../../../core/messages/record.js";
import { inboxFor, shardOfUser } from "../../../core/objects/shard.js";
import { localHourOfWeek } from "../../../core/rules/time.js";
import type { UserShard } from "../../../durable-objects/shard/user-shard.js";
import { eventually, text } from "../delivery/helpers.js";
import { call, newApp } from "../http.js";

const send = (key: string, user: string, options: object = {}) =>
	call("POST", "/v1/messages", key, { audience: { users: [user] }, content: text("policy"), options });

/** Quiet hours that contain the current minute in UTC (so the test does not depend on the clock). */
function quietNow(action: "hold" | "drop") {
	const now = new Date();
	const hh = (h: number) => String((h + 24) % 24).padStart(2, "0");
	return { start: `${hh(now.getUTCHours() - 1)}:00`, end: `${hh(now.getUTCHours() + 1)}:00`, action };
}

describe("app settings and delivery rules", () => {
	it("reads and patches settings; null restores a default; bad values answer 400", async () => {
		const { key } = await newApp();
		expect((await call("GET", "/v1/settings", key)).body).toEqual({});
		const patched = await call("PATCH", "/v1/settings", key, { default_timezone: "Asia/Shanghai", inbox_cap: 50 });
		expect(patched.body).toEqual({ default_timezone: "Asia/Shanghai", inbox_cap: 50 });
		expect((await call("PATCH", "/v1/settings", key, { inbox_cap: null })).body).toEqual({ default_timezone: "Asia/Shanghai" });
		const bad = await call("PATCH", "/v1/settings", key, { quiet_hours: { start: "25:00", end: "08:00", action: "hold" } });
		expect(bad.status).toBe(400);
		expect(bad.body.error.details[0].path).toMatch(/^quiet_hours/);
	});

	it("caps per user per rolling day, counts the capped, and lets transactional through", async () => {
		const { key } = await newApp();
		await call("PATCH", "/v1/settings", key, { frequency_caps: [{ max: 2, per: "day" }] });
		await send(key, "cap");
		await send(key, "cap");
		const third = await send(key, "cap");
		const otp = await send(key, "cap", { category: "transactional" });
		const capped = await call("GET", `/v1/messages/${third.body.id}`, key);
		expect(capped.body.counts).toMatchObject({ targeted: 1, capped: 1 });
		expect((await call("GET", `/v1/messages/${third.body.id}/recipients/cap`, key)).body.status).toBe("capped");
		expect((await call("GET", `/v1/messages/${otp.body.id}/recipients/cap`, key)).body.status).toBe("queued");
	});

	it("a retried delivery of a held message does not ask any vendor to push it (the release does)", async () => {
		const { appId, key } = await newApp();
		await call("PATCH", "/v1/settings", key, { quiet_hours: quietNow("hold") });
		const held = await send(key, "sleeper"); // channels auto: a vendor push would go to an offline user
		const spec = await loadDeliverySpec(env, appId, held.body.id);
		if (!spec) throw new Error("no spec");
		// The queue's retry of the same delivery (another part), and a repeat of the first.
		for (const part of [RETRY_PARTS, 0]) {
			const results = await deliverToShards(env, spec, ["sleeper"], part);
			expect(results.map((r) => r.outcome)).toEqual(["held"]);
			expect(usersForVendors(spec, results)).toEqual([]);
		}
		expect(await inboxFor(env, appId, "sleeper").stats()).toEqual({ seq: 0, held: 0 });
	});

	it("holds a message in quiet hours and delivers it when they end; drop mode counts it dropped", async () => {
		const { appId, key } = await newApp();
		await call("PATCH", "/v1/settings", key, { quiet_hours: quietNow("hold") });
		const held = await send(key, "night-owl");
		expect(await inboxFor(env, appId, "night-owl").stats()).toEqual({ seq: 0, held: 0 });
		expect((await call("GET", `/v1/messages/${held.body.id}/recipients/night-owl`, key)).body.status).toBe("queued");
		// Quiet hours end: move the release time to now and let the alarm run.
		const { stub } = await shardOfUser(env, appId, "night-owl");
		await runInDurableObject(stub, (shard: UserShard) => {
			for (const e of shard.shard.heldEntries()) for (const t of e.t) if (t.h !== undefined) t.h = Date.now() - 1;
			shard.shard.holdsChanged();
		});
		await runDurableObjectAlarm(stub);
		expect(await inboxFor(env, appId, "night-owl").stats()).toEqual({ seq: 1, held: 1 });

		const urgent = await send(key, "night-owl", { respect_quiet_hours: false });
		expect((await call("GET", `/v1/messages/${urgent.body.id}/recipients/night-owl`, key)).body.status).toBe("queued");
		expect((await inboxFor(env, appId, "night-owl").stats()).seq).toBe(2);

		await call("PATCH", "/v1/settings", key, { quiet_hours: quietNow("drop") });
		const dropped = await send(key, "night-owl");
		const counts = await call("GET", `/v1/messages/${dropped.body.id}`, key);
		expect(counts.body.counts).toMatchObject({ targeted: 1, dropped: 1 });
	});

	it("holds an optimal-time message until the user's best hour from a seeded histogram", async () => {
		const { appId, key } = await newApp();
		await call("PUT", "/v1/users/fan", key, { timezone: "Europe/Berlin" });
		const best = new Date(Date.now() + 5 * 3600_000);
		best.setUTCMinutes(0, 0, 0);
		const bucket = localHourOfWeek(best, "Europe/Berlin");
		const { stub } = await shardOfUser(env, appId, "fan");
		await runInDurableObject(stub, (shard: UserShard) => {
			const uid = shard.shard.store.ensureUser("fan");
			shard.shard.store.user(uid)!.eng[String(bucket)] = 12;
		});
		const sent = await send(key, "fan", { send_at_optimal: { within_hours: 24, fallback_local_time: "09:00" } });
		expect(sent.status).toBe(202);
		const releaseAt = await runInDurableObject(stub, (shard: UserShard) => shard.shard.heldEntries()[0]?.t[0]?.h);
		expect(releaseAt).toBe(best.getTime());
	});

	it("paces a throttled broadcast's deliver jobs over time", async () => {
		const { key } = await newApp();
		const users = Array.from({ length: 300 }, (_, i) => `p${String(i).padStart(3, "0")}`);
		expect((await call("POST", "/v1/tags/slow/users", key, { add: users })).status).toBe(200);
		const t0 = Date.now();
		const sent = await call("POST", "/v1/messages", key, {
			audience: { tags: { any: ["slow"] } },
			content: text("paced"),
			options: { throttle_per_minute: 3000 },
		});
		// 300 users at 3,000/min: jobs of 100 at 0 s, 2 s and 4 s.
		const partial = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.targeted >= 100,
			15_000,
		);
		expect(partial.body.counts.targeted).toBeLessThan(300);
		const done = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.status === "done",
			30_000,
		);
		expect(done.body.counts.targeted).toBe(300);
		expect(Date.now() - t0).toBeGreaterThanOrEqual(4000);
	}, 40_000);
});
