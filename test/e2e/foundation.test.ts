// The foundation contract (Errors, Credentials, Apps and keys, Users/devices/tokens, Tags), driven over
// real HTTP and WebSockets against the stack started the way `npm start` starts it.
import { describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { adminToken, api, baseUrl, createApp, errorCode, wsUrl } from "./helpers.js";

/** Every route of the contract's foundation sections, as OpenAPI paths. */
const FOUNDATION_ROUTES: Record<string, string[]> = {
	"/v1/apps": ["post"],
	"/v1/apps/{appId}": ["get"],
	"/v1/apps/{appId}/keys": ["post"],
	"/v1/apps/{appId}/keys/{keyId}": ["delete"],
	"/v1/users/{userId}": ["put", "get", "delete"],
	"/v1/users/{userId}/devices": ["post"],
	"/v1/users/{userId}/devices/{deviceId}": ["delete"],
	"/v1/users/{userId}/tokens": ["post"],
	"/v1/users/{userId}/tags": ["put"],
	"/v1/tags/{tag}/users": ["post", "get"],
	"/v1/tags": ["get"],
	"/v1/connect": ["get"],
};

type Frame = { type: string; [k: string]: unknown };

/** A WebSocket on Node's global WebSocket that keeps every frame, so none is missed between awaits. */
class Session {
	readonly frames: Frame[] = [];
	private wake?: () => void;

	private constructor(readonly ws: globalThis.WebSocket) {
		ws.onmessage = (e) => {
			this.frames.push(JSON.parse(String(e.data)) as Frame);
			this.wake?.();
		};
	}

	/** Connects, sends hello with last_seq 0 and resolves once the socket is open. */
	static open(url: string): Promise<Session> {
		return new Promise((resolve, reject) => {
			const ws = new globalThis.WebSocket(url);
			const session = new Session(ws);
			ws.onerror = () => reject(new Error("WebSocket error"));
			ws.onopen = () => {
				ws.send(JSON.stringify({ type: "hello", last_seq: 0 }));
				resolve(session);
			};
		});
	}

	async waitFor(type: string, timeoutMs = 15_000): Promise<Frame> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const hit = this.frames.find((f) => f.type === type);
			if (hit) return hit;
			if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms: ${JSON.stringify(this.frames)}`);
			await new Promise<void>((r) => {
				this.wake = r;
				setTimeout(r, 100);
			});
		}
	}

	close() {
		this.ws.close();
	}
}

/** What the server answers instead of upgrading: status, content type and body. */
function refusedUpgrade(url: string): Promise<{ status: number; contentType: string; body: string }> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url);
		ws.on("open", () => {
			ws.close();
			reject(new Error("the upgrade was accepted"));
		});
		ws.on("unexpected-response", (_req, res) => {
			let body = "";
			res.setEncoding("utf8");
			res.on("data", (c: string) => {
				body += c;
			});
			res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"]), body }));
		});
		ws.on("error", (e) => reject(e));
	});
}

describe("stack, docs and errors", () => {
	it("answers GET / with JSON pointing at the docs", async () => {
		const r = await api("GET", "/");
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ docs: "/docs", openapi: "/v1/openapi.json" });
	});

	it("serves an OpenAPI 3.1 document with every foundation route", async () => {
		const r = await api("GET", "/v1/openapi.json");
		expect(r.status).toBe(200);
		expect(r.headers.get("content-type")).toMatch(/application\/json/);
		expect(r.body.openapi).toMatch(/^3\.1/);
		for (const [path, methods] of Object.entries(FOUNDATION_ROUTES)) {
			expect(r.body.paths, path).toHaveProperty([path]);
			for (const m of methods) expect(r.body.paths[path], `${m} ${path}`).toHaveProperty([m]);
		}
	});

	it("renders the docs UI from the OpenAPI URL", async () => {
		const res = await fetch(`${baseUrl}/docs`);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/text\/html/);
		const html = await res.text();
		expect(html).toMatch(/<html/i);
		expect(html).toContain("/v1/openapi.json");
	});

	it("answers unknown routes with a JSON 404 and wrong methods with a JSON 405", async () => {
		const missing = await api("GET", "/v1/no-such-thing");
		expect(missing.status).toBe(404);
		expect(missing.headers.get("content-type")).toMatch(/application\/json/);
		expect(errorCode(missing)).toBe("not_found");

		const wrong = await api("PATCH", "/v1/apps", adminToken, {});
		expect(wrong.status).toBe(405);
		expect(wrong.headers.get("content-type")).toMatch(/application\/json/);
		expect(errorCode(wrong)).toBe("method_not_allowed");
		expect(wrong.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "POST"]);
	});

	it("rejects missing and wrong admin tokens, malformed JSON and oversize bodies", async () => {
		const none = await api("POST", "/v1/apps", undefined, { name: "x" });
		expect(none.status).toBe(401);
		expect(errorCode(none)).toBe("unauthorized");

		const wrong = await api("POST", "/v1/apps", `${adminToken}x`, { name: "x" });
		expect(wrong.status).toBe(401);
		expect(errorCode(wrong)).toBe("unauthorized");

		const malformed = await api("POST", "/v1/apps", adminToken, undefined, { raw: '{"name": ' });
		expect(malformed.status).toBe(400);
		expect(errorCode(malformed)).toBe("invalid_request");

		const extra = await api("POST", "/v1/apps", adminToken, { name: "x", surprise: true });
		expect(extra.status).toBe(400);
		expect(errorCode(extra)).toBe("invalid_request");

		const huge = await api("POST", "/v1/apps", adminToken, { name: "x".repeat(1024 * 1024 + 1) });
		expect(huge.status).toBe(413);
		expect(errorCode(huge)).toBe("payload_too_large");
	});
});

describe("apps and keys", () => {
	it("creates an app, shows it without secrets, scopes keys, and revokes a key on the next request", async () => {
		const created = await api("POST", "/v1/apps", adminToken, { name: "Acme e2e", plan: "standard" });
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ name: "Acme e2e", plan: "standard" });
		expect(created.body.key.scopes.sort()).toEqual(["manage", "read", "send"]);
		const appId: string = created.body.id;
		const fullKey: string = created.body.key.secret;

		const shown = await api("GET", `/v1/apps/${appId}`, adminToken);
		expect(shown.status).toBe(200);
		expect(shown.body.id).toBe(appId);
		expect(shown.body.keys.map((k: { id: string }) => k.id)).toContain(created.body.key.id);
		expect(shown.text).not.toContain(fullKey);

		expect((await api("GET", "/v1/apps/app_doesnotexist", adminToken)).status).toBe(404);

		const readOnly = await api("POST", `/v1/apps/${appId}/keys`, adminToken, { name: "reader", scopes: ["read"] });
		expect(readOnly.status).toBe(201);
		expect(readOnly.body.scopes).toEqual(["read"]);
		const reader: string = readOnly.body.secret;

		expect((await api("PUT", "/v1/users/alice", fullKey, { locale: "en-US" })).status).toBe(200);
		expect((await api("GET", "/v1/users/alice", reader)).status).toBe(200);
		const denied = await api("PUT", "/v1/users/alice", reader, { locale: "de-DE" });
		expect(denied.status).toBe(403);
		expect(errorCode(denied)).toBe("forbidden");
		expect((await api("GET", "/v1/users/alice", fullKey)).body.locale).toBe("en-US");

		// An app key is no admin token.
		expect((await api("GET", `/v1/apps/${appId}`, fullKey)).status).toBe(401);

		const revoked = await api("DELETE", `/v1/apps/${appId}/keys/${readOnly.body.id}`, adminToken);
		expect(revoked.status).toBe(204);
		const after = await api("GET", "/v1/users/alice", reader);
		expect(after.status).toBe(401);
		expect(errorCode(after)).toBe("unauthorized");
		expect((await api("GET", "/v1/users/alice", fullKey)).status).toBe(200);

		const listed = await api("GET", `/v1/apps/${appId}`, adminToken);
		const reKey = listed.body.keys.find((k: { id: string }) => k.id === readOnly.body.id);
		expect(reKey.revoked_at).toEqual(expect.any(String));
	});
});

describe("users, devices and tokens", () => {
	it("creates and merges a user, registers and deletes devices, and erases the user", async () => {
		const { key } = await createApp("users");
		const put = await api("PUT", "/v1/users/bob", key, {
			attributes: { plan: "gold", city: "Beijing" },
			locale: "zh-CN",
			timezone: "Asia/Shanghai",
		});
		expect(put.status).toBe(200);
		expect(put.body).toMatchObject({ id: "bob", locale: "zh-CN", timezone: "Asia/Shanghai" });

		const merged = await api("PUT", "/v1/users/bob", key, { attributes: { city: null, age: 30 } });
		expect(merged.status).toBe(200);
		expect(merged.body.attributes).toEqual({ plan: "gold", age: 30 });

		const ws = await api("POST", "/v1/users/bob/devices", key, { id: "bob-laptop", platform: "web", channel: "ws" });
		expect(ws.status).toBe(201);
		expect(ws.body).toMatchObject({ id: "bob-laptop", platform: "web", channel: "ws", status: "active" });
		const ios = await api("POST", "/v1/users/bob/devices", key, { platform: "ios", channel: "apns", token: "a1b2c3" });
		expect(ios.status).toBe(201);
		expect(ios.body.id).toEqual(expect.any(String));

		const bad = await api("POST", "/v1/users/bob/devices", key, { platform: "ios", channel: "apns" });
		expect(bad.status).toBe(400);
		expect(errorCode(bad)).toBe("invalid_request");
		expect(bad.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "token" })]));

		const got = await api("GET", "/v1/users/bob", key);
		expect(got.status).toBe(200);
		expect(got.body.devices.map((d: { id: string }) => d.id).sort()).toEqual(["bob-laptop", ios.body.id].sort());
		expect(got.body.online).toBe(0);

		expect((await api("DELETE", "/v1/users/bob/devices/bob-laptop", key)).status).toBe(204);
		expect((await api("DELETE", "/v1/users/bob/devices/bob-laptop", key)).status).toBe(404);
		expect((await api("GET", "/v1/users/bob", key)).body.devices).toHaveLength(1);

		const token = await api("POST", "/v1/users/bob/tokens", key, { ttl_seconds: 600 });
		expect(token.status).toBe(201);
		expect(token.body.token.split(".")).toHaveLength(3);
		const ttl = (Date.parse(token.body.expires_at) - Date.now()) / 1000;
		expect(ttl).toBeGreaterThan(500);
		expect(ttl).toBeLessThanOrEqual(601);

		expect((await api("DELETE", "/v1/users/bob", key)).status).toBe(204);
		const gone = await api("GET", "/v1/users/bob", key);
		expect(gone.status).toBe(404);
		expect(errorCode(gone)).toBe("not_found");
	});

	it("rejects bad ids without creating anything", async () => {
		const { key } = await createApp("ids");
		const r = await api("PUT", `/v1/users/${encodeURIComponent("bad id!")}`, key, {});
		expect(r.status).toBe(400);
		expect(errorCode(r)).toBe("invalid_request");
		expect((await api("PUT", `/v1/users/${"x".repeat(129)}`, key, {})).status).toBe(400);
		expect((await api("GET", "/v1/tags", key)).body.tags).toEqual([]);
	});

	it("never reveals another app's users, devices or tags", async () => {
		const a = await createApp("tenant-a");
		const b = await createApp("tenant-b");
		expect((await api("PUT", "/v1/users/carol", a.key, { attributes: { secret: 1 } })).status).toBe(200);
		expect((await api("PUT", "/v1/users/carol/tags", a.key, { add: ["vip"] })).status).toBe(200);
		expect((await api("GET", "/v1/users/carol", b.key)).status).toBe(404);
		expect((await api("DELETE", "/v1/users/carol", b.key)).status).toBe(404);
		expect((await api("GET", "/v1/tags/vip/users", b.key)).status).toBe(404);
		expect((await api("GET", "/v1/tags", b.key)).body.tags).toEqual([]);
		expect((await api("DELETE", `/v1/apps/${a.id}/keys/${b.keyId}`, adminToken)).status).toBe(404);
		expect((await api("GET", "/v1/users/carol", a.key)).body.attributes).toEqual({ secret: 1 });
	});
});

describe("tags", () => {
	it("tags users one by one and in bulk, and pages a tag's users in key order", async () => {
		const { key } = await createApp("tags");
		const own = await api("PUT", "/v1/users/dave/tags", key, { add: ["vip", "beijing"] });
		expect(own.status).toBe(200);
		expect(own.body.tags.sort()).toEqual(["beijing", "vip"]);
		const less = await api("PUT", "/v1/users/dave/tags", key, { remove: ["beijing"] });
		expect(less.body.tags).toEqual(["vip"]);

		const users = Array.from({ length: 25 }, (_, i) => `fan-${String(i).padStart(2, "0")}`).reverse();
		const bulk = await api("POST", "/v1/tags/fans/users", key, { add: users });
		expect(bulk.status).toBe(200);
		expect(bulk.body).toEqual({ added: 25, removed: 0 });
		expect((await api("POST", "/v1/tags/fans/users", key, { add: users.slice(0, 5) })).body).toEqual({
			added: 0,
			removed: 0,
		});

		const seen: string[] = [];
		let cursor: string | null = null;
		let pages = 0;
		do {
			const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
			const page = await api("GET", `/v1/tags/fans/users?limit=10${q}`, key);
			expect(page.status).toBe(200);
			expect(page.body.users.length).toBeLessThanOrEqual(10);
			seen.push(...page.body.users);
			cursor = page.body.next_cursor;
			pages++;
		} while (cursor && pages < 10);
		expect(pages).toBe(3);
		expect(seen).toEqual([...users].sort());

		const removed = await api("POST", "/v1/tags/fans/users", key, { remove: ["fan-00", "fan-01", "nobody"] });
		expect(removed.body).toEqual({ added: 0, removed: 2 });

		const tags = await api("GET", "/v1/tags", key);
		expect(tags.status).toBe(200);
		expect(tags.body).toEqual({
			tags: [
				{ name: "fans", users: 23 },
				{ name: "vip", users: 1 },
			],
			next_cursor: null,
		});
		expect((await api("GET", "/v1/users/fan-05", key)).body.tags).toEqual(["fans"]);

		const tooMany = Array.from({ length: 1001 }, (_, i) => `u${i}`);
		const over = await api("POST", "/v1/tags/big/users", key, { add: tooMany });
		expect(over.status).toBe(400);
		expect((await api("GET", "/v1/tags/big/users", key)).status).toBe(404);
	});
});

describe("WebSocket connect", () => {
	it("refuses a bad client token with a JSON 401 before the upgrade", async () => {
		const r = await refusedUpgrade(wsUrl("not-a-token", "dev-1"));
		expect(r.status).toBe(401);
		expect(r.contentType).toMatch(/application\/json/);
		expect(JSON.parse(r.body).error.code).toBe("unauthorized");
	});

	it("refuses a tampered client token", async () => {
		const a = await createApp("ws-a");
		const token = (await api("POST", "/v1/users/erin/tokens", a.key, {})).body.token as string;
		// Tamper with the signature: still a JWT, no longer valid.
		const [h, p, s] = token.split(".");
		const forged = `${h}.${p}.${s!.startsWith("A") ? "B" : "A"}${s!.slice(1)}`;
		expect((await refusedUpgrade(wsUrl(forged, "dev-1"))).status).toBe(401);
	});

	it("welcomes a good token after hello, and counts the session as online", async () => {
		const { key } = await createApp("ws");
		const token = (await api("POST", "/v1/users/frank/tokens", key, {})).body.token as string;
		const session = await Session.open(wsUrl(token, "frank-phone"));
		try {
			expect(await session.waitFor("welcome")).toEqual({ type: "welcome", user_id: "frank", device_id: "frank-phone", seq: 0 });
			const user = await api("GET", "/v1/users/frank", key);
			expect(user.body.online).toBe(1);
			expect(user.body.devices).toEqual([expect.objectContaining({ id: "frank-phone", channel: "ws" })]);
		} finally {
			session.close();
		}
	});

	it("works with the demo app, key and client token that npm start prints", async () => {
		const demo = inject("demo");
		expect((await api("GET", `/v1/apps/${demo.appId}`, adminToken)).status).toBe(200);
		expect((await api("GET", "/v1/tags", demo.key)).status).toBe(200);
		const session = await Session.open(wsUrl(demo.clientToken, "demo-device"));
		try {
			expect(await session.waitFor("welcome")).toMatchObject({ type: "welcome", user_id: demo.userId, device_id: "demo-device" });
			const sent = await api("POST", "/v1/messages", demo.key, {
				audience: { users: [demo.userId] },
				content: { type: "text", title: "Hello", body: "Hello from Warbler" },
			});
			expect(sent.status).toBe(202);
			const frame = await session.waitFor("message");
			expect(frame).toMatchObject({ type: "message", id: sent.body.id, seq: 1, content: { body: "Hello from Warbler" } });
		} finally {
			session.close();
		}
	});
});
