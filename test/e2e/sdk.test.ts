import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { memoryStorage, WarblerClient, type WarblerMessage } from "../../sdk/client/src/index.js";
import { Warbler } from "../../sdk/server/src/index.js";
import { adminToken, baseUrl } from "./helpers.js";

/** The `ws` WebSocket, remembering every socket it opens so a test can cut the network under the SDK. */
const opened: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
	constructor(url: string, protocols?: string | string[]) {
		super(url, protocols);
		opened.push(this);
	}
}

async function until(check: () => boolean, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error("timed out");
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe("SDKs against the real local stack", () => {
	it("client: reconnects after a network drop, resumes, never shows an id twice (also across a restart)", async () => {
		const admin = new Warbler({ baseUrl, key: adminToken });
		const app = await admin.apps.create({ name: "sdk-e2e" });
		const server = new Warbler({ baseUrl, key: app.key.secret });
		const storage = memoryStorage();
		const shown: WarblerMessage[] = [];
		let tokens = 0;
		const start = () =>
			new WarblerClient({
				url: baseUrl,
				deviceId: "sdk-phone",
				storage,
				WebSocket: TrackedWebSocket as unknown as typeof globalThis.WebSocket,
				backoff: { baseMs: 100, maxMs: 500 },
				getToken: async () => {
					tokens++;
					return (await server.tokens.create("sdk-user", { ttl_seconds: 600 })).token;
				},
				onMessage: (m) => {
					shown.push(m);
				},
			});
		let client = start();
		await client.connect();
		const send = async (body: string) =>
			(await server.messages.send({ audience: { users: ["sdk-user"] }, content: { type: "text", body } })).id;
		const ids = [await send("one"), await send("two")];
		await until(() => shown.length === 2);

		// The network goes away (no close handshake); messages keep coming meanwhile.
		opened.at(-1)?.terminate();
		ids.push(await send("three"), await send("four"));
		await until(() => shown.length === 4);
		expect(tokens).toBeGreaterThanOrEqual(2); // a fresh token for the reconnect
		expect(shown.map((m) => m.id)).toEqual(ids);

		// The app restarts with the same storage: it resumes after what it showed.
		client.close();
		ids.push(await send("five"));
		client = start();
		await client.connect();
		await until(() => shown.length === 5);
		await new Promise((r) => setTimeout(r, 500));
		expect(shown.map((m) => m.id)).toEqual(ids);
		expect(new Set(shown.map((m) => m.id)).size).toBe(shown.length);
		client.close();
	}, 60_000);

	it("server: a send with an idempotency key is the same message on a retry", async () => {
		const admin = new Warbler({ baseUrl, key: adminToken });
		const app = await admin.apps.create({ name: "sdk-e2e-2" });
		const server = new Warbler({ baseUrl, key: app.key.secret });
		const first = await server.messages.send({
			audience: { users: ["u"] },
			content: { type: "text", body: "once" },
			options: { idempotency_key: "sdk-once" },
		});
		const again = await server.messages.send({
			audience: { users: ["u"] },
			content: { type: "text", body: "once" },
			options: { idempotency_key: "sdk-once" },
		});
		expect(again.id).toBe(first.id);
		const msg = await server.messages.get(first.id);
		expect(msg.counts.targeted).toBe(1);
	});
});
