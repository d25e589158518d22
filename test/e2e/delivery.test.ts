import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, baseUrl } from "./helpers.js";
import { RawClient } from "./raw-client.js";

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
	const out: R[] = [];
	let i = 0;
	await Promise.all(
		Array.from({ length: limit }, async () => {
			while (i < items.length) {
				const idx = i++;
				out[idx] = await fn(items[idx] as T);
			}
		}),
	);
	return out;
}

const N = 200;

describe("real-time delivery over the local stack", () => {
	let key: string;
	let clients: RawClient[];

	beforeAll(async () => {
		const app = await api("POST", "/v1/apps", adminToken, { name: "delivery-e2e" });
		key = app.body.key.secret;
		const users = Array.from({ length: N }, (_, i) => `fan-${String(i).padStart(3, "0")}`);
		expect((await api("POST", "/v1/tags/fans/users", key, { add: users })).status).toBe(200);
		clients = await mapLimit(users, 20, async (u) => {
			const token = (await api("POST", `/v1/users/${u}/tokens`, key, {})).body.token as string;
			const c = new RawClient(baseUrl, token, `dev-${u}`);
			await c.connect();
			return c;
		});
	});

	afterAll(() => {
		for (const c of clients ?? []) c.close();
	});

	it(`${N} clients on a tag each receive each message exactly once, in seq order`, async () => {
		const sent: string[] = [];
		for (let i = 0; i < 5; i++) {
			const r = await api("POST", "/v1/messages", key, {
				audience: { tags: { any: ["fans"] } },
				content: { type: "text", body: `broadcast ${i}` },
			});
			expect(r.status).toBe(202);
			sent.push(r.body.id);
		}
		await Promise.all(clients.map((c) => c.waitForCount(5)));
		for (const c of clients) {
			expect(c.ids().sort()).toEqual([...sent].sort());
			const seqs = c.received.map((m) => m.seq);
			expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		}
		// Broadcasts are concurrent jobs: each inbox numbers them in its own arrival order, but every
		// client sees exactly the five, once each.
		const status = await api("GET", `/v1/messages/${sent[4]}`, key);
		expect(status.body.counts.targeted).toBe(N);
	});

	it("half the clients drop mid-stream and resume: no loss, no duplicate", async () => {
		const before = clients.map((c) => c.received.length);
		const sent: string[] = [];
		const send = async (i: number) => {
			const r = await api("POST", "/v1/messages", key, {
				audience: { tags: { any: ["fans"] } },
				content: { type: "text", body: `stream ${i}` },
			});
			sent.push(r.body.id);
		};
		for (let i = 0; i < 3; i++) await send(i);
		const droppers = clients.filter((_, i) => i % 2 === 0);
		for (const c of droppers) c.drop();
		for (let i = 3; i < 6; i++) await send(i);
		await mapLimit(droppers, 20, (c) => c.connect());
		for (let i = 6; i < 8; i++) await send(i);
		await Promise.all(clients.map((c, i) => c.waitForCount((before[i] ?? 0) + 8)));
		for (const [i, c] of clients.entries()) {
			const fresh = c.ids().slice(before[i]);
			expect(new Set(fresh).size).toBe(fresh.length);
			expect([...fresh].sort()).toEqual([...sent].sort());
		}
	});

	it("direct pushes reach online users in milliseconds and offline users on reconnect", async () => {
		const online = clients[1] as RawClient;
		const offline = clients[3] as RawClient;
		offline.close();
		const from = online.frames.length;
		const t0 = performance.now();
		const r = await api("POST", "/v1/messages", key, {
			audience: { users: ["fan-001", "fan-003"] },
			content: { type: "text", body: "direct" },
		});
		await online.waitFor((f) => f.type === "message" && f.id === r.body.id, from);
		const latency = performance.now() - t0;
		expect(latency).toBeGreaterThan(0);
		const recipient = await api("GET", `/v1/messages/${r.body.id}/recipients/fan-003`, key);
		expect(recipient.body.status).toBe("queued");
		const offFrom = offline.frames.length;
		await offline.connect();
		await offline.waitFor((f) => f.type === "message" && f.id === r.body.id, offFrom);
	});
});
