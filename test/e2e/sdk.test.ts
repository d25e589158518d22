import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { memoryStorage, WarblerClient, type WarblerMessage } from "../../sdk/client/src/index.js";
import { Warbler } from "../../sdk/server/src/index.js";
import { adminToken, api, baseUrl } from "./helpers.js";
import { RawClient } from "./raw-client.js";

/** The `ws` WebSocket, remembering every socket it opens so a test can cut the network under the SDK. */
const opened: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
	constructor(url: string, protocols?: string | string[]) {
		super(url, protocols);
		opened.push(this);
	}
}

/** What the proxy does with the n-th POST /v1/messages (1-based); every other request passes. */
type Spoil = "pass" | "bad-gateway" | "lose-answer";

interface ProxiedSend {
	body: string;
	/** What the stack answered, when the request was forwarded. */
	answer?: { status: number; body: { id?: string } };
}

/**
 * A plain HTTP proxy on 127.0.0.1 in front of the stack that can spoil sends: answer 502 without
 * forwarding, or forward and then cut the connection so the caller never sees the stack's answer.
 */
async function startProxy(target: string, spoil: (n: number) => Spoil) {
	const attempts: ProxiedSend[] = [];
	const server = createServer(async (req, res) => {
		try {
			const chunks: Buffer[] = [];
			for await (const chunk of req) chunks.push(chunk as Buffer);
			const body = Buffer.concat(chunks).toString("utf8");
			const isSend = req.method === "POST" && req.url === "/v1/messages";
			const attempt: ProxiedSend = { body };
			if (isSend) attempts.push(attempt);
			const action = isSend ? spoil(attempts.length) : "pass";
			if (action === "bad-gateway") {
				res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
				return;
			}
			const headers: Record<string, string> = {};
			for (const name of ["authorization", "content-type", "accept"]) {
				const v = req.headers[name];
				if (typeof v === "string") headers[name] = v;
			}
			const upstream = await fetch(`${target}${req.url}`, {
				method: req.method,
				headers,
				body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
			});
			const text = await upstream.text();
			if (isSend) attempt.answer = { status: upstream.status, body: text ? JSON.parse(text) : {} };
			if (action === "lose-answer") {
				// The stack has done the work; the caller gets a dead connection instead of its answer.
				req.socket.destroy();
				return;
			}
			res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" }).end(text);
		} catch (err) {
			res.writeHead(500).end(String(err));
		}
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		attempts,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
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

	it("server: a send whose answer is lost is retried by the SDK with the same idempotency key and delivered once", async () => {
		const admin = new Warbler({ baseUrl, key: adminToken });
		const app = await admin.apps.create({ name: "sdk-e2e-retry" });
		// The device talks to the stack directly; only the backend's calls go through the proxy.
		const device = new RawClient(baseUrl, (await api("POST", "/v1/users/u/tokens", app.key.secret, {})).body.token, "phone");
		await device.connect();
		// The first send reaches the stack and is accepted, but its answer never comes back.
		const proxy = await startProxy(baseUrl, (n) => (n === 1 ? "lose-answer" : "pass"));
		let sdkAttempts = 0;
		const server = new Warbler({
			baseUrl: proxy.url,
			key: app.key.secret,
			retry: { baseMs: 20, maxMs: 100 },
			fetch: (input, init) => {
				sdkAttempts++;
				return fetch(input, init);
			},
		});
		try {
			const sent = await server.messages.send({ audience: { users: ["u"] }, content: { type: "text", body: "once" } });

			// Two requests, both from the SDK itself (no second manual send), with one generated key.
			expect(sdkAttempts).toBe(2);
			expect(proxy.attempts).toHaveLength(2);
			const keys = proxy.attempts.map((a) => JSON.parse(a.body).options.idempotency_key);
			expect(keys[0]).toEqual(expect.any(String));
			expect(keys).toEqual([sent.idempotency_key, sent.idempotency_key]);
			// The stack accepted the first (the answer the SDK never saw) and replayed it for the retry.
			expect(proxy.attempts.map((a) => a.answer?.status)).toEqual([202, 200]);
			expect(proxy.attempts.map((a) => a.answer?.body.id)).toEqual([sent.id, sent.id]);

			// One message, shown once.
			await device.waitFor((f) => f.type === "message");
			await new Promise((r) => setTimeout(r, 1000));
			expect(device.ids()).toEqual([sent.id]);
			const view = await api("GET", `/v1/messages/${sent.id}`, app.key.secret);
			expect(view.body.counts.targeted).toBe(1);
		} finally {
			device.close();
			await proxy.close();
		}
	});

	it("server: a 502 before the stack is reached is retried by the SDK and sent once", async () => {
		const admin = new Warbler({ baseUrl, key: adminToken });
		const app = await admin.apps.create({ name: "sdk-e2e-502" });
		const device = new RawClient(baseUrl, (await api("POST", "/v1/users/u/tokens", app.key.secret, {})).body.token, "phone");
		await device.connect();
		const proxy = await startProxy(baseUrl, (n) => (n === 1 ? "bad-gateway" : "pass"));
		const server = new Warbler({ baseUrl: proxy.url, key: app.key.secret, retry: { baseMs: 20, maxMs: 100 } });
		try {
			const sent = await server.messages.send({
				audience: { users: ["u"] },
				content: { type: "text", body: "after a 502" },
				options: { idempotency_key: "sdk-502" },
			});
			expect(sent.idempotency_key).toBe("sdk-502");
			expect(proxy.attempts).toHaveLength(2);
			expect(proxy.attempts[0]?.answer).toBeUndefined(); // never forwarded
			expect(proxy.attempts[1]?.answer).toMatchObject({ status: 202, body: { id: sent.id } });
			await device.waitFor((f) => f.type === "message");
			await new Promise((r) => setTimeout(r, 1000));
			expect(device.ids()).toEqual([sent.id]);
		} finally {
			device.close();
			await proxy.close();
		}
	});
});
