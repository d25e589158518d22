/**
 * Plans, rate limits, quotas and usage on the local stack that `npm start` runs: the example plans
 * it loads, 429s with every header over real HTTP under a burst, a monthly quota that refuses sends
 * (and a real receiver that gets the quota webhooks, verified with the standardwebhooks package), and
 * usage that equals a recount of what this test did.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminToken, api, createApp, errorCode } from "./helpers.js";

interface Hook {
	type: string;
	data: { limit: string; used: number; max: number; period: string };
}

let server: Server;
let receiverUrl: string;
let secret = "";
const hooks: Hook[] = [];
const badSignatures: string[] = [];

beforeAll(async () => {
	server = createServer((req, res) => {
		let raw = "";
		req.setEncoding("utf8");
		req.on("data", (c) => {
			raw += c;
		});
		req.on("end", () => {
			try {
				hooks.push(
					new Webhook(secret).verify(raw, {
						"webhook-id": String(req.headers["webhook-id"]),
						"webhook-timestamp": String(req.headers["webhook-timestamp"]),
						"webhook-signature": String(req.headers["webhook-signature"]),
					}) as Hook,
				);
			} catch (err) {
				badSignatures.push(String(err));
			}
			res.writeHead(200).end("ok");
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/quota`;
});

afterAll(async () => {
	await new Promise((resolve) => server.close(resolve));
});

async function onPlan(appId: string, limits: Record<string, number>) {
	const id = `e2e-${crypto.randomUUID().slice(0, 8)}`;
	expect((await api("POST", "/v1/admin/plans", adminToken, { id, name: id, limits })).status).toBe(201);
	expect((await api("PUT", `/v1/admin/apps/${appId}/plan`, adminToken, { plan_id: id })).status).toBe(200);
}

const send = (key: string, body = "hi") =>
	api("POST", "/v1/messages", key, { audience: { users: ["e2e-user"] }, content: { type: "text", body } });

describe("plans, rate limits, quotas and usage on the local stack", () => {
	it("npm start loads the example plans and leaves the demo app on none", async () => {
		const plans = await api("GET", "/v1/admin/plans", adminToken);
		expect(plans.status).toBe(200);
		expect(plans.body.plans.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(["free", "pro", "enterprise"]));
		const free = plans.body.plans.find((p: { id: string }) => p.id === "free");
		expect(free.limits.api_requests_per_second_per_key).toBe(10);
		const demo = inject("demo");
		const usage = await api("GET", "/v1/usage", demo.key);
		expect(usage.status).toBe(200);
		expect(usage.body.plan).toBeNull();
		expect(usage.headers.get("ratelimit-policy")).toBeNull();
	});

	it("a burst over a small plan answers 429 rate_limited with Retry-After and the RateLimit headers", async () => {
		const app = await createApp("burst");
		await onPlan(app.id, { api_requests_per_second_per_key: 5, api_requests_per_second_per_app: 50 });
		const answers = await Promise.all(Array.from({ length: 25 }, () => api("GET", "/v1/tags", app.key)));
		const ok = answers.filter((a) => a.status === 200);
		const limited = answers.filter((a) => a.status === 429);
		expect(ok.length).toBeGreaterThanOrEqual(5);
		expect(limited.length).toBeGreaterThan(0);
		const r = limited[0]!;
		expect(errorCode(r)).toBe("rate_limited");
		expect(r.headers.get("retry-after")).toBe("1");
		expect(r.headers.get("ratelimit-policy")).toBe('"per-key";q=5;w=1, "per-app";q=50;w=1');
		expect(r.headers.get("ratelimit")).toMatch(/^"per-key";r=0;t=1, "per-app";r=\d+;t=1$/);
		expect(r.headers.get("ratelimit-limit")).toBe("5");
		expect(r.headers.get("ratelimit-remaining")).toBe("0");
		expect(r.headers.get("ratelimit-reset")).toBe("1");
		expect(ok[0]!.headers.get("ratelimit-policy")).toBe('"per-key";q=5;w=1, "per-app";q=50;w=1');
		await new Promise((resolve) => setTimeout(resolve, 1100));
		expect((await api("GET", "/v1/tags", app.key)).status).toBe(200);
	});

	it("at 100 % of messages_per_month sends are refused and nothing more is stored; the 80 % warning reaches the receiver once", async () => {
		const app = await createApp("quota");
		const hook = await api("POST", "/v1/webhooks", app.key, { url: receiverUrl, events: ["quota.warning", "quota.exceeded"] });
		expect(hook.status, hook.text).toBe(201);
		secret = hook.body.secret;
		await onPlan(app.id, { messages_per_month: 5 });
		const ids: string[] = [];
		for (let i = 0; i < 5; i++) {
			const r = await send(app.key, `m${i}`);
			expect(r.status).toBe(202);
			ids.push(r.body.id);
		}
		for (let i = 0; i < 3; i++) {
			const r = await send(app.key, "over");
			expect(r.status).toBe(429);
			expect(errorCode(r)).toBe("quota_exceeded");
			expect(r.body.error.details).toEqual([{ path: "limits.messages_per_month", message: "5 of 5 used this month" }]);
			expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
			expect(r.headers.get("ratelimit-policy")).toMatch(/^"messages_per_month";q=5;w=\d+$/);
			expect(r.headers.get("ratelimit")).toBe(`"messages_per_month";r=0;t=${r.headers.get("retry-after")}`);
		}
		// The message log holds exactly the five accepted.
		const log = await api("GET", "/v1/messages?limit=100", app.key);
		expect(log.status).toBe(200);
		expect(log.body.messages.map((m: { id: string }) => m.id).sort()).toEqual([...ids].sort());
		// Requests that no limit of this plan decides (all but the sends) are counted in batches that
		// reach the meter within a second; this usage request itself is counted after its answer.
		await new Promise((r) => setTimeout(r, 1500));
		const usage = (await api("GET", "/v1/usage", app.key)).body;
		expect(usage.totals.messages_accepted).toBe(5);
		// 1 webhook POST + 8 sends + the message log.
		expect(usage.totals.api_requests).toBe(10);
		expect(usage.quotas).toEqual([{ limit: "messages_per_month", used: 5, max: 5, period: "month" }]);

		const deadline = Date.now() + 30_000;
		while (hooks.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
		await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
		expect(badSignatures).toEqual([]);
		expect(hooks.map((h) => h.type).sort()).toEqual(["quota.exceeded", "quota.warning"]);
		const month = new Date().toISOString().slice(0, 7);
		expect(hooks.find((h) => h.type === "quota.warning")!.data).toEqual({
			limit: "messages_per_month",
			used: 4,
			max: 5,
			period: month,
		});
		expect(hooks.find((h) => h.type === "quota.exceeded")!.data).toEqual({
			limit: "messages_per_month",
			used: 5,
			max: 5,
			period: month,
		});
	});
});
