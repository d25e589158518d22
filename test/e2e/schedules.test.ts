import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, startStack } from "../../scripts/stack.mjs";
import { adminToken, api, apiAt, baseUrl } from "./helpers.js";
import { RawClient } from "./raw-client.js";

function percentile(sorted: number[], p: number) {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

describe("schedules against the local stack", () => {
	it("fires `at` schedules on time: each message once, lateness measured", async () => {
		const app = await api("POST", "/v1/apps", adminToken, { name: "schedules-e2e" });
		const key = app.body.key.secret as string;
		const token = (await api("POST", "/v1/users/clock/tokens", key, {})).body.token as string;
		const client = new RawClient(baseUrl, token, "watch");
		await client.connect();
		const base = Date.now() + 3000;
		const due = new Map<string, number>();
		for (let i = 0; i < 10; i++) {
			const at = new Date(base + i * 200).toISOString();
			const r = await api("POST", "/v1/schedules", key, {
				message: { audience: { users: ["clock"] }, content: { type: "text", body: `tick ${i}` } },
				when: { at },
			});
			expect(r.status).toBe(201);
			due.set(`tick ${i}`, Date.parse(at));
		}
		const arrivals = new Map<string, number>();
		const deadline = Date.now() + 20_000;
		while (arrivals.size < 10 && Date.now() < deadline) {
			for (const m of client.received) {
				const body = (m.content as { body?: string }).body ?? "";
				if (!arrivals.has(body)) arrivals.set(body, Date.now());
			}
			await new Promise((r) => setTimeout(r, 5));
		}
		expect(arrivals.size).toBe(10);
		expect(client.received).toHaveLength(10);
		const lateness = [...arrivals].map(([body, t]) => t - (due.get(body) ?? 0)).sort((a, b) => a - b);
		console.log(`schedule lateness ms: p50 ${percentile(lateness, 50)}, p99 ${percentile(lateness, 99)}, max ${lateness.at(-1)}`);
		for (const l of lateness) {
			expect(l).toBeGreaterThanOrEqual(0);
			expect(l).toBeLessThan(2000);
		}
		client.close();
	}, 60_000);

	it("a stack restarted across the due time sends the occurrence once, after the restart", async () => {
		const persistTo = mkdtempSync(join(tmpdir(), "warbler-restart-"));
		try {
			let stack = await startStack({ port: await freePort(), persistTo, quiet: true, simulator: false, demo: false });
			const call = (s: typeof stack, method: string, path: string, token: string, body?: unknown) =>
				apiAt(s.baseUrl)(method, path, token, body);
			const app = await call(stack, "POST", "/v1/apps", stack.adminToken, { name: "restart" });
			const key = app.body.key.secret as string;
			const at = new Date(Date.now() + 4000).toISOString();
			const created = await call(stack, "POST", "/v1/schedules", key, {
				message: { audience: { users: ["sleeper"] }, content: { type: "text", body: "after the restart" } },
				when: { at },
			});
			expect(created.status).toBe(201);
			await stack.stop();
			await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(at) - Date.now() + 1000)));
			stack = await startStack({ port: await freePort(), persistTo, quiet: true, simulator: false, demo: false });
			let view = await call(stack, "GET", `/v1/schedules/${created.body.id}`, key);
			const deadline = Date.now() + 30_000;
			while (view.body.runs.length === 0 && Date.now() < deadline) {
				// Locally cron never fires by itself: poke the safety net the way Cloudflare's minute cron would.
				await fetch(`${stack.baseUrl}/__scheduled?cron=*+*+*+*+*`);
				await new Promise((r) => setTimeout(r, 500));
				view = await call(stack, "GET", `/v1/schedules/${created.body.id}`, key);
			}
			expect(view.body.runs).toHaveLength(1);
			expect(view.body.status).toBe("done");
			await fetch(`${stack.baseUrl}/__scheduled?cron=*+*+*+*+*`);
			await new Promise((r) => setTimeout(r, 1000));
			view = await call(stack, "GET", `/v1/schedules/${created.body.id}`, key);
			expect(view.body.runs).toHaveLength(1);
			const token = (await call(stack, "POST", "/v1/users/sleeper/tokens", key, {})).body.token as string;
			const client = new RawClient(stack.baseUrl, token, "d");
			const welcome = await client.connect();
			expect(welcome.seq).toBe(1);
			client.close();
			await stack.stop();
		} finally {
			rmSync(persistTo, { recursive: true, force: true });
		}
	}, 120_000);
});
