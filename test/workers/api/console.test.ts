/**
 * The console's API side in workerd: sign-in for a session cookie (never the key), the cookie standing in
 * for the credential with CSRF and origin checks, revocation and sign-out ending it, an admin session
 * working on one app, the app's own keys, the audience estimate, and the page at /console.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, BASE, call, newApp, newKey, ok, send, type TestApp } from "../http.js";

interface Signed {
	cookie: string;
	setCookie: string;
	csrf: string;
	body: { kind: string; app_id: string | null; scopes: string[]; expires_at: string };
}

async function signIn(token: string): Promise<Signed> {
	const res = await send(`${BASE}/v1/console/session`, {
		method: "POST",
		headers: { "content-type": "application/json", origin: BASE },
		body: JSON.stringify({ token }),
	});
	expect(res.status, res.text).toBe(201);
	const setCookie = res.headers.get("set-cookie") ?? "";
	return { cookie: setCookie.split(";")[0] as string, setCookie, csrf: res.body.csrf_token, body: res.body };
}

/** A request as the console sends it: cookie, and for changes the CSRF header and the same origin. */
function withCookie(s: Signed, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
	const headers: Record<string, string> = { cookie: s.cookie };
	if (method !== "GET") Object.assign(headers, { "x-warbler-csrf": s.csrf, origin: BASE });
	Object.assign(headers, extra);
	if (body !== undefined) headers["content-type"] = "application/json";
	return send(`${BASE}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

let app: TestApp;
let other: TestApp;

beforeAll(async () => {
	app = await newApp("console");
	other = await newApp("console-other");
});

describe("console sign-in", () => {
	it("exchanges an app key for an HttpOnly SameSite=Strict cookie holding a random id, not the key", async () => {
		const s = await signIn(app.key);
		expect(s.body).toMatchObject({ kind: "app", app_id: app.appId, scopes: ["send", "read", "manage"] });
		expect(s.setCookie).toMatch(/^warbler_session=[A-Za-z0-9_-]{43};/);
		expect(s.setCookie).toMatch(/HttpOnly/);
		expect(s.setCookie).toMatch(/SameSite=Strict/);
		expect(s.setCookie).toMatch(/Max-Age=4319\d/);
		expect(s.setCookie).not.toContain(app.key);
		// Plain http (the local stack) gets no Secure flag, https does.
		expect(s.setCookie).not.toMatch(/Secure/);
		const https = await send("https://warbler.test/v1/console/session", {
			method: "POST",
			headers: { "content-type": "application/json", origin: "https://warbler.test" },
			body: JSON.stringify({ token: app.key }),
		});
		expect(https.headers.get("set-cookie")).toMatch(/; Secure/);
		// D1 keeps only a hash of the id.
		const id = s.cookie.split("=")[1] as string;
		const rows = await env.DB.prepare("SELECT * FROM console_sessions").all();
		expect(JSON.stringify(rows.results)).not.toContain(id);
		expect(JSON.stringify(rows.results)).not.toContain(app.key);
	});

	it("refuses a wrong token and a cross-site origin", async () => {
		const post = (token: string, headers: Record<string, string>) =>
			send(`${BASE}/v1/console/session`, { method: "POST", headers, body: JSON.stringify({ token }) });
		expect((await post("wbsk.key_000000000000.nope", { "content-type": "application/json" })).status).toBe(401);
		expect((await post(app.key, { "content-type": "application/json", origin: "https://evil.example" })).status).toBe(403);
		expect((await post(app.key, { "content-type": "application/json", "sec-fetch-site": "cross-site" })).status).toBe(403);
	});

	it("GET /v1/console/session describes the cookie's session; without one it is 401", async () => {
		const s = await signIn(app.key);
		const me = await withCookie(s, "GET", "/v1/console/session");
		expect(me.status).toBe(200);
		expect(me.body).toMatchObject({ kind: "app", app_id: app.appId, csrf_token: s.csrf });
		expect((await send(`${BASE}/v1/console/session`, {})).status).toBe(401);
		expect((await send(`${BASE}/v1/console/session`, { headers: { cookie: "warbler_session=nope" } })).status).toBe(401);
	});
});

describe("the session cookie on API routes", () => {
	it("reads with the cookie alone; changes need the CSRF header and the same origin", async () => {
		const s = await signIn(app.key);
		await ok("PUT", "/v1/users/cookie-user", app.key, {});
		expect((await withCookie(s, "GET", "/v1/users/cookie-user")).status).toBe(200);
		const msg = { audience: { users: ["cookie-user"] }, content: { type: "text", body: "hi" } };
		const bare = await send(`${BASE}/v1/messages`, {
			method: "POST",
			headers: { cookie: s.cookie, "content-type": "application/json" },
			body: JSON.stringify(msg),
		});
		expect(bare.status).toBe(403);
		expect((await withCookie(s, "POST", "/v1/messages", msg, { "x-warbler-csrf": "wrong" })).status).toBe(403);
		expect((await withCookie(s, "POST", "/v1/messages", msg, { origin: "https://evil.example" })).status).toBe(403);
		expect((await withCookie(s, "POST", "/v1/messages", msg)).status).toBe(202);
	});

	it("applies the key's scopes, and ends when the key is revoked", async () => {
		const readOnly = await newKey(app.appId, ["read"]);
		const s = await signIn(readOnly.secret);
		expect(s.body.scopes).toEqual(["read"]);
		expect((await withCookie(s, "GET", "/v1/settings")).status).toBe(200);
		expect((await withCookie(s, "PATCH", "/v1/settings", { inbox_cap: 50 })).status).toBe(403);
		await ok("DELETE", `/v1/apps/${app.appId}/keys/${readOnly.id}`, ADMIN);
		expect((await withCookie(s, "GET", "/v1/settings")).status).toBe(401);
	});

	it("an app-key session never reaches the admin routes or another app", async () => {
		const s = await signIn(app.key);
		expect((await withCookie(s, "GET", "/v1/apps")).status).toBe(401);
		await ok("PUT", "/v1/users/theirs", other.key, {});
		expect((await withCookie(s, "GET", "/v1/users/theirs")).status).toBe(404);
		// The admin's app header means nothing to an app-key session.
		expect((await withCookie(s, "GET", "/v1/users/theirs", undefined, { "x-warbler-app": other.appId })).status).toBe(404);
	});

	it("an admin session reaches /v1/apps, and app routes of the app it names", async () => {
		const s = await signIn(ADMIN);
		expect(s.body).toMatchObject({ kind: "admin", app_id: null });
		const apps = await withCookie(s, "GET", "/v1/apps");
		expect(apps.status).toBe(200);
		expect(apps.body.apps.map((a: { id: string }) => a.id)).toContain(app.appId);
		await ok("PUT", "/v1/users/admin-seen", app.key, {});
		expect((await withCookie(s, "GET", "/v1/users/admin-seen", undefined, { "x-warbler-app": app.appId })).status).toBe(200);
		expect((await withCookie(s, "GET", "/v1/users/admin-seen", undefined, { "x-warbler-app": other.appId })).status).toBe(404);
		expect((await withCookie(s, "GET", "/v1/users/admin-seen")).status).toBe(401);
		expect((await withCookie(s, "GET", "/v1/users/admin-seen", undefined, { "x-warbler-app": "app_nonexistent0" })).status).toBe(
			401,
		);
	});

	it("an admin session ends when ADMIN_TOKEN changes (it remembers a fingerprint of the token, not the token)", async () => {
		const s = await signIn(ADMIN);
		expect((await withCookie(s, "GET", "/v1/apps")).status).toBe(200);
		const rows = await env.DB.prepare("SELECT key_id FROM console_sessions WHERE kind = 'admin'").all<{ key_id: string }>();
		expect(JSON.stringify(rows.results)).not.toContain(ADMIN);
		// As if the session had been made under the previous ADMIN_TOKEN.
		await env.DB.prepare("UPDATE console_sessions SET key_id = 'admin:0000' WHERE kind = 'admin'").run();
		expect((await withCookie(s, "GET", "/v1/apps")).status).toBe(401);
	});

	it("an Authorization header wins over the cookie", async () => {
		const s = await signIn(app.key);
		const res = await send(`${BASE}/v1/settings`, {
			headers: { cookie: s.cookie, authorization: "Bearer wbsk.key_000000000000.x" },
		});
		expect(res.status).toBe(401);
	});

	it("sign-out deletes the session: the old cookie gets 401", async () => {
		const s = await signIn(app.key);
		const noCsrf = await send(`${BASE}/v1/console/session`, { method: "DELETE", headers: { cookie: s.cookie } });
		expect(noCsrf.status).toBe(403);
		const out = await withCookie(s, "DELETE", "/v1/console/session");
		expect(out.status).toBe(204);
		expect(out.headers.get("set-cookie")).toMatch(/warbler_session=;.*Max-Age=0/);
		expect((await withCookie(s, "GET", "/v1/settings")).status).toBe(401);
		expect((await withCookie(s, "GET", "/v1/console/session")).status).toBe(401);
	});

	it("an expired session opens nothing", async () => {
		const s = await signIn(app.key);
		await env.DB.prepare("UPDATE console_sessions SET expires_at = ?")
			.bind(Date.now() - 1)
			.run();
		expect((await withCookie(s, "GET", "/v1/settings")).status).toBe(401);
	});
});

describe("the app's own keys (/v1/keys)", () => {
	it("lists, creates (secret once) and revokes; another app's key is a 404", async () => {
		const made = await call("POST", "/v1/keys", app.key, { name: "console-made", scopes: ["send"] });
		expect(made.status).toBe(201);
		expect(made.body.secret).toMatch(/^wbsk\./);
		const list = await call("GET", "/v1/keys", app.key);
		const listed = list.body.keys.find((k: { id: string }) => k.id === made.body.id);
		expect(listed).toMatchObject({ name: "console-made", scopes: ["send"], revoked_at: null });
		expect(JSON.stringify(list.body)).not.toContain(made.body.secret);
		expect((await call("GET", "/v1/keys", other.key)).body.keys.some((k: { id: string }) => k.id === made.body.id)).toBe(false);
		expect((await call("DELETE", `/v1/keys/${made.body.id}`, other.key)).status).toBe(404);
		expect((await call("GET", "/v1/settings", made.body.secret)).status).toBe(403); // alive (send only)
		expect((await call("DELETE", `/v1/keys/${made.body.id}`, app.key)).status).toBe(204);
		expect((await call("GET", "/v1/settings", made.body.secret)).status).toBe(401);
		expect((await call("DELETE", `/v1/keys/${made.body.id}`, app.key)).status).toBe(404);
		const sendOnly = await newKey(app.appId, ["send"]);
		expect((await call("POST", "/v1/keys", sendOnly.secret, { name: "nope" })).status).toBe(403);
	});
});

describe("GET /v1/users (the console's user search)", () => {
	it("pages the app's users by id prefix, never another app's", async () => {
		const mine = await newApp("search");
		for (const u of ["ann", "anna", "annex", "bob", "an"]) await ok("PUT", `/v1/users/${u}`, mine.key, {});
		await ok("PUT", "/v1/users/annie", other.key, {});
		const ids = async (query: string) => {
			const r = await call("GET", `/v1/users${query}`, mine.key);
			expect(r.status, r.text).toBe(200);
			return r.body as { users: { id: string }[]; next_cursor: string | null };
		};
		expect((await ids("?prefix=ann")).users.map((u) => u.id)).toEqual(["ann", "anna", "annex"]);
		expect((await ids("")).users.map((u) => u.id)).toEqual(["an", "ann", "anna", "annex", "bob"]);
		const first = await ids("?prefix=an&limit=2");
		expect(first.users.map((u) => u.id)).toEqual(["an", "ann"]);
		const second = await ids(`?prefix=an&limit=2&cursor=${first.next_cursor}`);
		expect(second.users.map((u) => u.id)).toEqual(["anna", "annex"]);
		expect(second.next_cursor).toBeNull();
		expect((await call("GET", "/v1/users?prefix=a%20b", mine.key)).status).toBe(400);
		expect((await call("GET", "/v1/users?limit=201", mine.key)).status).toBe(400);
	});
});

describe("POST /v1/audience/estimate", () => {
	it("counts what a send would reach, within the app, and sends nothing", async () => {
		const est = await newApp("estimate");
		for (const [u, tags] of [
			["e1", ["vip", "cn"]],
			["e2", ["vip"]],
			["e3", ["cn", "muted"]],
			["e4", []],
		] as const) {
			await ok("PUT", `/v1/users/${u}`, est.key, { attributes: { plan: u === "e1" ? "pro" : "free" } });
			if (tags.length) await ok("PUT", `/v1/users/${u}/tags`, est.key, { add: tags });
		}
		await ok("PUT", "/v1/users/not-mine/tags", other.key, { add: ["vip"] });
		const count = async (audience: unknown) => {
			const r = await call("POST", "/v1/audience/estimate", est.key, { audience });
			expect(r.status, r.text).toBe(200);
			return r.body;
		};
		expect(await count({ all: true })).toEqual({ users: 4, capped: false });
		expect(await count({ tags: { any: ["vip"] } })).toEqual({ users: 2, capped: false });
		expect(await count({ tags: { all: ["vip", "cn"] } })).toEqual({ users: 1, capped: false });
		expect(await count({ tags: { any: ["cn"], none: ["muted"] } })).toEqual({ users: 1, capped: false });
		expect(await count({ filter: { attr: "plan", op: "eq", value: "pro" } })).toMatchObject({ users: 1 });
		expect(await count({ users: ["a", "b", "a"] })).toEqual({ users: 2, capped: false });
		expect((await call("POST", "/v1/audience/estimate", est.key, { audience: { tags: {} } })).status).toBe(400);
		expect((await call("POST", "/v1/audience/estimate", est.key, {})).status).toBe(400);
		const msgs = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE app_id = ?")
			.bind(est.appId)
			.first<{ n: number }>();
		expect(msgs?.n).toBe(0);
	});
});

describe("GET /console", () => {
	it("serves the page in the browser's language, with the shell text in it", async () => {
		const zh = await send(`${BASE}/console`, { headers: { "accept-language": "zh-CN,zh;q=0.9" } });
		expect(zh.status).toBe(200);
		expect(zh.headers.get("content-type")).toMatch(/^text\/html/);
		expect(zh.headers.get("content-security-policy")).toContain("default-src 'self'");
		expect(zh.text).toContain('<html lang="zh-CN"');
		expect(zh.text).toContain("Warbler 控制台");
		const en = await send(`${BASE}/console/messages`, { headers: { "accept-language": "en-GB" } });
		expect(en.text).toContain('<html lang="en"');
		expect(en.text).toContain('<meta name="warbler-session" content="0">');
		const chosen = await send(`${BASE}/console`, {
			headers: { "accept-language": "en", cookie: "warbler_locale=zh-CN; warbler_session=x" },
		});
		expect(chosen.text).toContain('<html lang="zh-CN"');
		expect(chosen.text).toContain('<meta name="warbler-session" content="1">');
		expect((await send(`${BASE}/console/assets/missing.js`, {})).status).toBe(404);
	});
});
