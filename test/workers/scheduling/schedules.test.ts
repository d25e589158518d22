import { createScheduledController, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { scheduleTimerFor } from "../../../core/objects/schedule-timer.js";
import { inboxFor } from "../../../core/objects/shard.js";
import { fireDue } from "../../../core/schedules/runner.js";
import worker from "../../../workers/index.js";
import { text } from "../delivery/helpers.js";
import { call, newApp } from "../http.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function schedule(key: string, when: unknown, audience: unknown = { users: ["sam"] }) {
	return call("POST", "/v1/schedules", key, { message: { audience, content: text("planned") }, when });
}

describe("schedules", () => {
	it("fires an `at` schedule from its Durable Object alarm and records the run with its message", async () => {
		const { appId, key } = await newApp();
		const at = new Date(Date.now() + 1500).toISOString();
		const created = await schedule(key, { at });
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ status: "active", next_run_at: at, runs: [] });
		await sleep(1600);
		await runDurableObjectAlarm(scheduleTimerFor(env, appId, created.body.id));
		const after = await call("GET", `/v1/schedules/${created.body.id}`, key);
		expect(after.body.status).toBe("done");
		expect(after.body.runs).toHaveLength(1);
		expect(after.body.runs[0]).toMatchObject({ at, outcome: "sent" });
		const msg = await call("GET", `/v1/messages/${after.body.runs[0].message_id}`, key);
		expect(msg.body.counts.targeted).toBe(1);
		expect(await inboxFor(env, appId, "sam").stats()).toEqual({ seq: 1, held: 1 });
	});

	it("alarm and cron racing on one occurrence send one message", async () => {
		const { appId, key } = await newApp();
		const created = await schedule(key, { at: new Date(Date.now() + 1000).toISOString() });
		await sleep(6200); // past the cron's 5 s grace, so the sweep sees it overdue too
		await Promise.all([
			runDurableObjectAlarm(scheduleTimerFor(env, appId, created.body.id)),
			worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, {
				waitUntil() {},
				passThroughOnException() {},
				props: {},
			} as unknown as ExecutionContext),
			fireDue(env, appId, created.body.id),
		]);
		const after = await call("GET", `/v1/schedules/${created.body.id}`, key);
		expect(after.body.runs).toHaveLength(1);
		expect(after.body.run_count).toBe(1);
		expect(await inboxFor(env, appId, "sam").stats()).toEqual({ seq: 1, held: 1 });
	});

	it("a missed occurrence is sent late within max_lateness_seconds, recorded as missed beyond it", async () => {
		const { appId, key } = await newApp();
		const at = Date.now() + 500;
		const lateOk = await call("POST", "/v1/schedules", key, {
			message: { audience: { users: ["sam"] }, content: text("late but sent") },
			when: { at: new Date(at).toISOString() },
			max_lateness_seconds: 3600,
		});
		const tooLate = await call("POST", "/v1/schedules", key, {
			message: { audience: { users: ["tim"] }, content: text("too late") },
			when: { at: new Date(at).toISOString() },
			max_lateness_seconds: 60,
		});
		// As if the stack was down for ten minutes.
		const later = at + 600_000;
		await fireDue(env, appId, lateOk.body.id, later);
		await fireDue(env, appId, tooLate.body.id, later);
		expect((await call("GET", `/v1/schedules/${lateOk.body.id}`, key)).body.runs[0].outcome).toBe("sent");
		const missed = (await call("GET", `/v1/schedules/${tooLate.body.id}`, key)).body;
		expect(missed.runs[0]).toMatchObject({ outcome: "missed", message_id: null });
		expect(await inboxFor(env, appId, "tim").stats()).toEqual({ seq: 0, held: 0 });
	});

	it("runs a cron schedule in its time zone, and pause / resume / cancel control it", async () => {
		const { key } = await newApp();
		const created = await schedule(key, { cron: "0 9 * * *", timezone: "Asia/Shanghai" });
		expect(created.status).toBe(201);
		const next = new Date(created.body.next_run_at);
		expect(next.getUTCHours()).toBe(1); // 09:00 in Shanghai (UTC+8)
		expect(next.getTime()).toBeGreaterThan(Date.now());
		const paused = await call("POST", `/v1/schedules/${created.body.id}/pause`, key);
		expect(paused.body.status).toBe("paused");
		const resumed = await call("POST", `/v1/schedules/${created.body.id}/resume`, key);
		expect(resumed.body).toMatchObject({ status: "active", next_run_at: created.body.next_run_at });
		const listed = await call("GET", "/v1/schedules?status=active", key);
		expect(listed.body.schedules.map((s: { id: string }) => s.id)).toContain(created.body.id);
		expect((await call("DELETE", `/v1/schedules/${created.body.id}`, key)).status).toBe(204);
		expect((await call("GET", `/v1/schedules/${created.body.id}`, key)).body).toMatchObject({
			status: "canceled",
			next_run_at: null,
		});
	});

	it("answers 400 naming the field for an invalid cron or time zone, and 404 across apps", async () => {
		const { key } = await newApp();
		const badCron = await schedule(key, { cron: "61 * * * *", timezone: "UTC" });
		expect(badCron.status).toBe(400);
		expect(badCron.body.error.details.map((d: { path: string }) => d.path)).toContain("when.cron");
		const badZone = await schedule(key, { cron: "0 9 * * *", timezone: "Mars/Olympus" });
		expect(badZone.status).toBe(400);
		expect(badZone.body.error.details.map((d: { path: string }) => d.path)).toContain("when.timezone");
		const past = await schedule(key, { at: "2020-01-01T00:00:00Z" });
		expect(past.status).toBe(400);
		const optimal = await schedule(key, { optimal: { within_hours: 0, fallback_local_time: "09:00" } });
		expect(optimal.status).toBe(400);
		const mine = await schedule(key, { at: new Date(Date.now() + 3600_000).toISOString() });
		const other = await newApp("other");
		expect((await call("GET", `/v1/schedules/${mine.body.id}`, other.key)).status).toBe(404);
		expect((await call("DELETE", `/v1/schedules/${mine.body.id}`, other.key)).status).toBe(404);
		expect((await call("GET", `/v1/schedules/${mine.body.id}`, key)).body.status).toBe("active");
	});

	it("fans a local_time schedule out per time zone, each group at its own local time", async () => {
		const { appId, key } = await newApp();
		for (const [user, timezone] of [
			["tokyo", "Asia/Tokyo"],
			["berlin", "Europe/Berlin"],
			["nyc", "America/New_York"],
		] as const) {
			expect((await call("PUT", `/v1/users/${user}`, key, { timezone })).status).toBe(200);
		}
		const tomorrow = new Date(Date.now() + 2 * 86400_000).toISOString().slice(0, 10);
		const created = await schedule(key, { local_time: `${tomorrow}T09:00:00` }, { users: ["tokyo", "berlin", "nyc"] });
		expect(created.status).toBe(201);
		const fired: string[] = [];
		for (const user of ["tokyo", "berlin", "nyc"]) {
			const row = (await call("GET", `/v1/schedules/${created.body.id}`, key)).body;
			const at = new Date(row.next_run_at);
			// Each group's instant is 09:00 in that zone.
			const local = new Intl.DateTimeFormat("en-GB", {
				timeZone: { tokyo: "Asia/Tokyo", berlin: "Europe/Berlin", nyc: "America/New_York" }[user],
				hour: "2-digit",
				minute: "2-digit",
			}).format(at);
			expect(local).toBe("09:00");
			await fireDue(env, appId, created.body.id, at.getTime() + 1000);
			for (const u of ["tokyo", "berlin", "nyc"]) {
				if ((await inboxFor(env, appId, u).stats()).seq === 1 && !fired.includes(u)) fired.push(u);
			}
			expect(fired).toEqual(["tokyo", "berlin", "nyc"].slice(0, fired.length));
			expect(fired.at(-1)).toBe(user);
		}
		const done = (await call("GET", `/v1/schedules/${created.body.id}`, key)).body;
		expect(done.status).toBe("done");
		expect(done.runs).toHaveLength(3);
	});
});
