import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Warbler } from "../../sdk/server/src/client.js";
import { WarblerError } from "../../sdk/server/src/errors.js";
import { parseRetryAfter, retryDelay } from "../../sdk/server/src/retry.js";

interface Seen {
	method: string;
	url: string;
	headers: IncomingMessage["headers"];
	body: unknown;
	at: number;
}

type Handler = (req: Seen, res: ServerResponse, n: number) => void;

let server: Server | undefined;

afterEach(async () => {
	await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
	server = undefined;
});

/** A node:http server answering with `handler`; records every request. */
async function serve(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
	const seen: Seen[] = [];
	server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			const text = Buffer.concat(chunks).toString();
			const s: Seen = {
				method: req.method ?? "",
				url: req.url ?? "",
				headers: req.headers,
				body: text ? JSON.parse(text) : undefined,
				at: Date.now(),
			};
			seen.push(s);
			handler(s, res, seen.length);
		});
	});
	await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", () => resolve()));
	return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
	res.writeHead(status, { "content-type": "application/json", ...headers });
	res.end(JSON.stringify(body));
}

const accepted = { id: "msg_1", status: "accepted", created_at: "2026-01-01T00:00:00Z" };
const message = { audience: { users: ["u1"] }, content: { type: "text" as const, body: "hi" } };
const fast = { baseMs: 1, maxMs: 5 };

const keyOf = (s: Seen) => (s.body as { options: { idempotency_key: string } }).options.idempotency_key;

describe("Warbler server SDK", () => {
	it("generates an idempotency key and sends the same one on every retry (5xx)", async () => {
		const { url, seen } = await serve((_req, res, n) => {
			if (n < 3) json(res, 503, { error: { code: "unavailable", message: "try again" } });
			else json(res, 202, accepted);
		});
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", retry: fast });
		const result = await warbler.messages.send(message);
		expect(seen).toHaveLength(3);
		const keys = seen.map(keyOf);
		expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
		expect(new Set(keys).size).toBe(1);
		expect(result).toEqual({ ...accepted, idempotency_key: keys[0] });
		// The rest of the body is untouched.
		expect(seen[0]!.body).toEqual({ ...message, options: { idempotency_key: keys[0] } });
	});

	it("keeps the caller's key and reuses it after a network error", async () => {
		const { url, seen } = await serve((_req, res, n) => {
			if (n === 1)
				res.socket?.destroy(); // the answer is lost: the request may or may not have been taken
			else json(res, 200, accepted); // a repeat of the key answers 200 with the first id
		});
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", retry: fast });
		const result = await warbler.messages.send({ ...message, options: { ttl_seconds: 60, idempotency_key: "order-42" } });
		expect(seen.map(keyOf)).toEqual(["order-42", "order-42"]);
		expect((seen[1]!.body as { options: unknown }).options).toEqual({ ttl_seconds: 60, idempotency_key: "order-42" });
		expect(result.id).toBe("msg_1");
	});

	it("a fresh send gets a fresh key", async () => {
		const { url, seen } = await serve((_req, res) => json(res, 202, accepted));
		const warbler = new Warbler({ baseUrl: url, key: "sk_test" });
		await warbler.messages.send(message);
		await warbler.messages.send(message);
		expect(keyOf(seen[0]!)).not.toBe(keyOf(seen[1]!));
	});

	it("honours Retry-After on 429", async () => {
		const { url, seen } = await serve((_req, res, n) => {
			if (n === 1) json(res, 429, { error: { code: "rate_limited", message: "slow down" } }, { "retry-after": "1" });
			else json(res, 202, accepted);
		});
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", retry: fast });
		await warbler.messages.send(message);
		expect(seen).toHaveLength(2);
		const waited = seen[1]!.at - seen[0]!.at;
		expect(waited).toBeGreaterThanOrEqual(990);
		expect(waited).toBeLessThan(2500);
		expect(keyOf(seen[0]!)).toBe(keyOf(seen[1]!));
	});

	it("honours Retry-After on 503 too, and on a rate-limited burst waits each time before the retry", async () => {
		const { url, seen } = await serve((_req, res, n) => {
			if (n === 1) json(res, 503, { error: { code: "unavailable", message: "retry" } }, { "retry-after": "1" });
			else if (n === 2)
				json(
					res,
					429,
					{ error: { code: "rate_limited", message: "slow down" } },
					{
						"retry-after": "1",
						"ratelimit-policy": '"per-key";q=10;w=1',
						ratelimit: '"per-key";r=0;t=1',
					},
				);
			else json(res, 202, accepted);
		});
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", retry: fast });
		await warbler.messages.send(message);
		expect(seen).toHaveLength(3);
		expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(990);
		expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(990);
		expect(new Set(seen.map(keyOf)).size).toBe(1);
	});

	it("throws a 429 at once when Retry-After is longer than maxRetryAfterMs", async () => {
		const { url, seen } = await serve((_req, res) =>
			json(res, 429, { error: { code: "quota_exceeded", message: "monthly quota used" } }, { "retry-after": "3600" }),
		);
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", retry: { ...fast, maxRetryAfterMs: 5000 } });
		const err = await warbler.messages.send(message).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(WarblerError);
		expect(err).toMatchObject({ code: "quota_exceeded", status: 429, retryAfter: 3600, attempts: 1 });
		expect(seen).toHaveLength(1);
	});

	it("maps the contract error body to WarblerError (code, status, message, details) and does not retry 4xx", async () => {
		const { url, seen } = await serve((_req, res) =>
			json(res, 400, {
				error: {
					code: "invalid_request",
					message: "The body does not match the schema.",
					details: [{ path: "audience.users[0]", message: "invalid id" }],
				},
			}),
		);
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", retry: fast });
		const err = (await warbler.messages.send(message).catch((e: unknown) => e)) as WarblerError;
		expect(err).toBeInstanceOf(WarblerError);
		expect(err.name).toBe("WarblerError");
		expect(err).toMatchObject({
			code: "invalid_request",
			status: 400,
			message: "The body does not match the schema.",
			details: [{ path: "audience.users[0]", message: "invalid id" }],
			method: "POST",
			path: "/v1/messages",
		});
		expect(seen).toHaveLength(1);
	});

	it("maps 404 and 401, and a non-contract 5xx body to invalid_response after the retries", async () => {
		const { url, seen } = await serve((req, res) => {
			if (req.url?.startsWith("/v1/users/")) json(res, 404, { error: { code: "not_found", message: "No such user." } });
			else if (req.url?.startsWith("/v1/tags")) json(res, 401, { error: { code: "unauthorized", message: "Bad key." } });
			else {
				res.writeHead(502, { "content-type": "text/html" });
				res.end("<html>bad gateway</html>");
			}
		});
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", retry: { ...fast, maxRetries: 2 } });
		await expect(warbler.users.get("ghost")).rejects.toMatchObject({ code: "not_found", status: 404 });
		await expect(warbler.tags.list()).rejects.toMatchObject({ code: "unauthorized", status: 401 });
		const before = seen.length;
		await expect(warbler.messages.get("m1")).rejects.toMatchObject({ code: "invalid_response", status: 502, attempts: 3 });
		expect(seen.length - before).toBe(3);
	});

	it("does not repeat a non-idempotent POST after a 5xx, but does after a 429", async () => {
		let mode: "5xx" | "429" = "5xx";
		const { url, seen } = await serve((_req, res, n) => {
			if (mode === "5xx") json(res, 500, { error: { code: "internal", message: "boom" } });
			else if (n === 2) json(res, 429, { error: { code: "rate_limited", message: "slow" } }, { "retry-after": "0" });
			else json(res, 201, { id: "app_1", name: "Acme", plan: "free", created_at: "", key: { id: "k", secret: "s", scopes: [] } });
		});
		const admin = new Warbler({ baseUrl: url, key: "admin", retry: fast });
		await expect(admin.apps.create({ name: "Acme" })).rejects.toMatchObject({ status: 500, attempts: 1 });
		expect(seen).toHaveLength(1);
		mode = "429";
		const app = await admin.apps.create({ name: "Acme" });
		expect(app.id).toBe("app_1");
		expect(seen).toHaveLength(3);
	});

	it("retries a timed-out idempotent request and reports timeout when every attempt times out", async () => {
		const { url, seen } = await serve(() => {
			// never answers
		});
		const warbler = new Warbler({ baseUrl: url, key: "sk_test", timeoutMs: 50, retry: { ...fast, maxRetries: 1 } });
		await expect(warbler.users.get("u1")).rejects.toMatchObject({ code: "timeout", status: 0, attempts: 2 });
		expect(seen).toHaveLength(2);
		server?.closeAllConnections();
	});

	it("sends the bearer key, JSON bodies, encoded paths and query strings; 204 resolves to undefined", async () => {
		const { url, seen } = await serve((req, res) => {
			if (req.method === "DELETE") {
				res.writeHead(204);
				res.end();
			} else if (req.url?.startsWith("/v1/tags?")) json(res, 200, { tags: [{ name: "vip", users: 2 }], next_cursor: null });
			else json(res, 200, { id: "a@b", attributes: {}, locale: null, timezone: null, tags: [], devices: [], online: 0 });
		});
		const warbler = new Warbler({ baseUrl: `${url}/`, key: "sk_live_x" });
		const user = await warbler.users.put("a@b c", { attributes: { plan: "gold" } });
		expect(user.online).toBe(0);
		expect(await warbler.users.delete("u/1")).toBeUndefined();
		const page = await warbler.tags.list({ cursor: "c 1", limit: 10 });
		expect(page.tags[0]?.name).toBe("vip");
		expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
			"PUT /v1/users/a%40b%20c",
			"DELETE /v1/users/u%2F1",
			"GET /v1/tags?cursor=c%201&limit=10",
		]);
		expect(seen[0]!.headers.authorization).toBe("Bearer sk_live_x");
		expect(seen[0]!.headers["content-type"]).toBe("application/json");
		expect(seen[0]!.body).toEqual({ attributes: { plan: "gold" } });
	});

	it("pages through every user of a tag", async () => {
		const { url } = await serve((req, res) => {
			const cursor = new URL(req.url, "http://x").searchParams.get("cursor");
			if (!cursor) json(res, 200, { users: ["u1", "u2"], next_cursor: "p2" });
			else json(res, 200, { users: ["u3"], next_cursor: null });
		});
		const warbler = new Warbler({ baseUrl: url, key: "sk_test" });
		const all: string[] = [];
		for await (const id of warbler.tags.allUsers("vip")) all.push(id);
		expect(all).toEqual(["u1", "u2", "u3"]);
	});

	it("parses Retry-After as seconds or an HTTP date; backoff has full jitter within its cap", () => {
		expect(parseRetryAfter("2")).toBe(2000);
		expect(parseRetryAfter("0.5")).toBe(500);
		expect(parseRetryAfter(null)).toBeUndefined();
		expect(parseRetryAfter("soon")).toBeUndefined();
		const now = Date.parse("2026-01-01T00:00:00Z");
		expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
		expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
		expect(retryDelay(3, 250, 8000, () => 0.999_999)).toBe(1999);
		expect(retryDelay(10, 250, 8000, () => 0.5)).toBe(4000);
		expect(retryDelay(0, 250, 8000, () => 0)).toBe(0);
	});
});
