/**
 * Webhooks end to end: a receiver on 127.0.0.1 (a plain Node http server) verifies every delivery
 * with the `standardwebhooks` package, an independent implementation of the spec, and answers as a
 * real endpoint would: 200, a 500 then 200, a 429 with Retry-After then 200, or 410 Gone.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, baseUrl, createApp } from "./helpers.js";
import { RawClient } from "./raw-client.js";

interface Hook {
	id: string;
	enabled: boolean;
	disabled_reason: string | null;
}

interface Delivery {
	id: string;
	event_id: string;
	type: string;
	status: string;
	attempts: number;
	last_response_status: number | null;
	last_error: string | null;
}

interface Received {
	path: string;
	id: string;
	timestamp: number;
	signature: string;
	body: {
		type: string;
		timestamp: string;
		data: { id?: string; counts?: Record<string, unknown>; recipients?: { user_id: string; channel?: string }[] };
	};
	answered: number;
	at: number;
}

const received: Received[] = [];
/** Secrets by receiver path: every request is verified against them before it is recorded. */
const secrets = new Map<string, string[]>();
const seen = new Map<string, number>();
let server: Server;
let receiverUrl: string;

/** How each path answers its n-th request (1-based). */
function answer(path: string, n: number): { status: number; headers?: Record<string, string> } {
	if (path === "/flaky") return { status: n === 1 ? 500 : 200 };
	if (path === "/busy") return n === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 };
	if (path === "/gone") return { status: 410 };
	return { status: 200 };
}

function verify(path: string, raw: string, headers: IncomingHttpHeaders): Received["body"] {
	const h = {
		"webhook-id": String(headers["webhook-id"]),
		"webhook-timestamp": String(headers["webhook-timestamp"]),
		"webhook-signature": String(headers["webhook-signature"]),
	};
	const keys = secrets.get(path) ?? [];
	expect(keys.length, `no secret for ${path}`).toBeGreaterThan(0);
	let body: unknown;
	for (const key of keys) body = new Webhook(key).verify(raw, h);
	return body as Received["body"];
}

const failures: string[] = [];

beforeAll(async () => {
	server = createServer((req, res) => {
		let raw = "";
		req.setEncoding("utf8");
		req.on("data", (chunk) => {
			raw += chunk;
		});
		req.on("end", () => {
			const path = req.url ?? "/";
			const n = (seen.get(path) ?? 0) + 1;
			seen.set(path, n);
			const a = answer(path, n);
			try {
				const body = verify(path, raw, req.headers);
				received.push({
					path,
					id: String(req.headers["webhook-id"]),
					timestamp: Number(req.headers["webhook-timestamp"]),
					signature: String(req.headers["webhook-signature"]),
					body,
					answered: a.status,
					at: Date.now(),
				});
			} catch (err) {
				failures.push(`${path}: ${String(err)}`);
			}
			res.writeHead(a.status, { "content-type": "text/plain", ...a.headers });
			res.end(a.status === 200 ? "ok" : "secret internals that must never be echoed");
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
	await new Promise((resolve) => server.close(resolve));
});

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
	const end = Date.now() + timeoutMs;
	for (;;) {
		const v = fn();
		if (v) return v;
		if (Date.now() > end)
			throw new Error(
				`timed out waiting for ${what}; received: ${JSON.stringify(received.map((r) => [r.path, r.body.type, r.answered]))}`,
			);
		await new Promise((r) => setTimeout(r, 100));
	}
}

const at = (path: string, type?: string) => received.filter((r) => r.path === path && (!type || r.body.type === type));

let key: string;

describe("webhooks to a local receiver, verified with the standardwebhooks package", () => {
	const hooks: Record<string, string> = {};
	let messageId: string;
	let client: RawClient;

	beforeAll(async () => {
		key = (await createApp("webhooks")).key;
		for (const [path, events] of [
			["/ok", ["message.accepted", "message.completed"]],
			["/flaky", ["message.accepted"]],
			["/busy", ["message.accepted"]],
			["/gone", ["message.accepted"]],
			["/recipients", ["message.delivered", "message.opened", "message.clicked"]],
		] as const) {
			const r = await api("POST", "/v1/webhooks", key, { url: `${receiverUrl}${path}`, events });
			expect(r.status, r.text).toBe(201);
			expect(r.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
			expect(r.body).toMatchObject({ url: `${receiverUrl}${path}`, events, enabled: true });
			secrets.set(path, [r.body.secret]);
			hooks[path] = r.body.id;
		}
		const token = (await api("POST", "/v1/users/wh-alice/tokens", key, {})).body.token as string;
		client = new RawClient(baseUrl, token, "dev-wh-alice");
		await client.connect();
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["wh-alice"] },
			content: { type: "text", body: "hello webhooks" },
		});
		expect(sent.status, sent.text).toBe(202);
		messageId = sent.body.id;
		await client.waitForCount(1);
	});

	afterAll(() => client?.close());

	it("message.accepted and message.completed (with final counts) arrive, signed", async () => {
		const accepted = await until("message.accepted at /ok", () => at("/ok", "message.accepted")[0]);
		expect(accepted.body.data.id).toBe(messageId);
		expect(accepted.signature).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
		expect(Math.abs(accepted.timestamp - Date.now() / 1000)).toBeLessThan(120);
		const completed = await until("message.completed at /ok", () => at("/ok", "message.completed")[0]);
		expect(completed.body.data.id).toBe(messageId);
		expect(completed.body.data.counts).toMatchObject({ targeted: 1, delivered: 1, failed: 0 });
		expect(completed.id).not.toBe(accepted.id);
		expect(failures).toEqual([]);
	});

	it("recipient-level events (opt-in) come batched per job / shard flush: delivered, opened, clicked", async () => {
		const delivered = await until("message.delivered", () => at("/recipients", "message.delivered")[0]);
		expect(delivered.body.data).toEqual({ id: messageId, recipients: [{ user_id: "wh-alice", channel: "websocket" }] });
		client.ws?.send(JSON.stringify({ type: "event", id: messageId, name: "clicked" }));
		const opened = await until("message.opened", () => at("/recipients", "message.opened")[0]);
		const clicked = await until("message.clicked", () => at("/recipients", "message.clicked")[0]);
		expect(opened.body.data.id).toBe(messageId);
		expect(opened.body.data.recipients).toMatchObject([{ user_id: "wh-alice" }]);
		expect(clicked.body.data.recipients).toMatchObject([{ user_id: "wh-alice" }]);
		// A second click changes nothing: no second webhook.
		client.ws?.send(JSON.stringify({ type: "event", id: messageId, name: "clicked" }));
		await new Promise((r) => setTimeout(r, 2_000));
		expect(at("/recipients", "message.clicked")).toHaveLength(1);
		// Endpoints that did not opt in got none of them.
		expect(received.filter((r) => r.path !== "/recipients" && /delivered|opened|clicked/.test(r.body.type))).toEqual([]);
	});

	it("a 500 is retried with the same webhook-id, and the log shows both attempts", async () => {
		const both = await until("two attempts at /flaky", () => at("/flaky").length >= 2 && at("/flaky"));
		expect(both[0]!.answered).toBe(500);
		expect(both[1]!.answered).toBe(200);
		expect(both[1]!.id).toBe(both[0]!.id);
		// The schedule's first retry is about 5 s later.
		expect(both[1]!.at - both[0]!.at).toBeGreaterThanOrEqual(4_000);
		const deliveries = await pollLog(hooks["/flaky"]!, (d) => d.status === "succeeded");
		expect(deliveries[0]).toMatchObject({
			type: "message.accepted",
			event_id: both[0]!.id,
			attempts: 2,
			last_response_status: 200,
		});
	});

	it("a 429 with Retry-After is retried after it, with the same webhook-id", async () => {
		const both = await until("two attempts at /busy", () => at("/busy").length >= 2 && at("/busy"));
		expect(both[0]!.answered).toBe(429);
		expect(both[1]!.id).toBe(both[0]!.id);
		expect(both[1]!.at - both[0]!.at).toBeGreaterThanOrEqual(900);
		// Retry-After: 1 wins over the 5 s of the schedule.
		expect(both[1]!.at - both[0]!.at).toBeLessThan(4_500);
	});

	it("a 410 disables the endpoint, and the log keeps a short status line, never the body", async () => {
		await until("the attempt at /gone", () => at("/gone")[0]);
		const hook = await pollHook(hooks["/gone"]!, (h) => h.enabled === false);
		expect(hook.disabled_reason).toMatch(/410/);
		const deliveries = await pollLog(hooks["/gone"]!, (d) => d.status === "failed");
		expect(deliveries[0]!.last_response_status).toBe(410);
		expect(JSON.stringify(deliveries)).not.toContain("secret internals");
		expect(at("/gone")).toHaveLength(1);
	});

	it("a manual replay arrives with the same webhook-id, signed with old and new secret after a rotation", async () => {
		const first = await until("message.accepted at /ok", () => at("/ok", "message.accepted")[0]);
		const rotated = await api("POST", `/v1/webhooks/${hooks["/ok"]}/secret/rotate`, key);
		expect(rotated.status, rotated.text).toBe(200);
		expect(rotated.body.secret).not.toBe(secrets.get("/ok")![0]);
		expect(rotated.body.previous_secret_valid_until).toBeTruthy();
		// The receiver now checks the request verifies under the old secret and under the new one.
		secrets.set("/ok", [secrets.get("/ok")![0]!, rotated.body.secret]);
		const log = await pollLog(hooks["/ok"]!, (d) => d.type === "message.accepted" && d.status === "succeeded");
		const delivery = log.find((d) => d.type === "message.accepted")!;
		const before = at("/ok", "message.accepted").length;
		const r = await api("POST", `/v1/webhooks/${hooks["/ok"]}/deliveries/${delivery.id}/replay`, key);
		expect(r.status, r.text).toBe(202);
		const again = await until(
			"the replay",
			() => at("/ok", "message.accepted").length > before && at("/ok", "message.accepted").at(-1),
		);
		expect(again.id).toBe(first.id);
		expect(again.body).toEqual(first.body);
		expect(again.signature.split(" ")).toHaveLength(2);
		expect(failures).toEqual([]);
	});

	// Last: its message.accepted webhooks would otherwise count as the retries the tests above wait for.
	it("a broadcast (tag audience) completes through its ledger: message.completed with its counts", async () => {
		expect((await api("PUT", "/v1/users/wh-alice/tags", key, { add: ["wh-fans"] })).status).toBe(200);
		const sent = await api("POST", "/v1/messages", key, {
			audience: { tags: { any: ["wh-fans"] } },
			content: { type: "text", body: "hello fans" },
		});
		expect(sent.status, sent.text).toBe(202);
		const completed = await until("message.completed of the broadcast", () =>
			at("/ok", "message.completed").find((r) => r.body.data.id === sent.body.id),
		);
		expect(completed.body.data).toMatchObject({ status: "done", counts: { targeted: 1, delivered: 1, failed: 0 } });
		expect(at("/ok", "message.completed").filter((r) => r.body.data.id === sent.body.id)).toHaveLength(1);
	});
});

/** The endpoint's delivery log, polled until some row satisfies `done`. */
async function pollLog(id: string, done: (d: Delivery) => boolean): Promise<Delivery[]> {
	let last: Delivery[] = [];
	const end = Date.now() + 30_000;
	while (Date.now() < end) {
		const r = await api("GET", `/v1/webhooks/${id}/deliveries`, key);
		expect(r.status, r.text).toBe(200);
		last = r.body.deliveries;
		if (last.some(done)) return last;
		await new Promise((res) => setTimeout(res, 200));
	}
	throw new Error(`delivery log of ${id} never settled: ${JSON.stringify(last)}`);
}

/** The endpoint, polled until it satisfies `done`. */
async function pollHook(id: string, done: (h: Hook) => boolean): Promise<Hook> {
	let last: Hook | undefined;
	const end = Date.now() + 30_000;
	while (Date.now() < end) {
		const r = await api("GET", `/v1/webhooks/${id}`, key);
		expect(r.status, r.text).toBe(200);
		last = r.body as Hook;
		if (done(last)) return last;
		await new Promise((res) => setTimeout(res, 200));
	}
	throw new Error(`webhook ${id} never settled: ${JSON.stringify(last)}`);
}
