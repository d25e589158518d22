import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newApp, ok } from "../http.js";
import { detailPaths, expectError, id, jwtPayload, openSocket, snapshot, webPushSubscription } from "./helpers.js";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe("PUT/GET /v1/users/{userId}", () => {
	it("creates a user, answers the full view, and reads it back", async () => {
		const { key } = await newApp();
		const put = await call("PUT", "/v1/users/alice", key, {
			attributes: { plan: "gold", visits: 3, nested: { a: [1, 2] } },
			locale: "zh-CN",
			timezone: "Asia/Shanghai",
		});
		expect(put.status).toBe(200);
		expect(put.body).toEqual({
			id: "alice",
			attributes: { plan: "gold", visits: 3, nested: { a: [1, 2] } },
			locale: "zh-CN",
			timezone: "Asia/Shanghai",
			tags: [],
			devices: [],
			online: 0,
			created_at: expect.stringMatching(ISO),
			updated_at: expect.stringMatching(ISO),
		});
		const got = await call("GET", "/v1/users/alice", key);
		expect(got.status).toBe(200);
		expect(got.body).toEqual(put.body);
	});

	it("an empty body or {} creates a bare user", async () => {
		const { key } = await newApp();
		const res = await call("PUT", "/v1/users/bare", key, undefined, { raw: "" });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id: "bare", attributes: {}, locale: null, timezone: null });
		expect((await call("PUT", "/v1/users/bare2", key, {})).status).toBe(200);
	});

	it("merges attributes: new keys added, existing replaced, null deletes, absent kept", async () => {
		const { key } = await newApp();
		await ok("PUT", "/v1/users/u1", key, { attributes: { a: 1, b: "two", c: [3], d: { x: 1 } }, locale: "en", timezone: "UTC" });
		const res = await call("PUT", "/v1/users/u1", key, { attributes: { a: null, b: "deux", e: true, d: { y: 2 } } });
		expect(res.status).toBe(200);
		expect(res.body.attributes).toEqual({ b: "deux", c: [3], d: { y: 2 }, e: true });
		// locale and timezone untouched when absent
		expect(res.body.locale).toBe("en");
		expect(res.body.timezone).toBe("UTC");
		// deleting a key that is not there is fine
		const again = await call("PUT", "/v1/users/u1", key, { attributes: { nope: null } });
		expect(again.body.attributes).toEqual({ b: "deux", c: [3], d: { y: 2 }, e: true });
		expect((await call("GET", "/v1/users/u1", key)).body.attributes).toEqual({ b: "deux", c: [3], d: { y: 2 }, e: true });
	});

	it("concurrent merges of different attributes all survive, for a new user and an existing one", async () => {
		const { key } = await newApp();
		// First round: the user does not exist yet; second round: it does.
		for (const prefix of ["first", "second"]) {
			const puts = await Promise.all(
				Array.from({ length: 10 }, (_, i) => call("PUT", "/v1/users/brand-new", key, { attributes: { [`${prefix}${i}`]: i } })),
			);
			expect(puts.map((r) => r.status)).toEqual(Array(10).fill(200));
		}
		const attributes = (await call("GET", "/v1/users/brand-new", key)).body.attributes;
		expect(Object.keys(attributes).sort()).toEqual(
			[...Array.from({ length: 10 }, (_, i) => `first${i}`), ...Array.from({ length: 10 }, (_, i) => `second${i}`)].sort(),
		);
	});

	it("locale and timezone: set, replaced, cleared with null", async () => {
		const { key } = await newApp();
		await ok("PUT", "/v1/users/u1", key, { locale: "zh-CN", timezone: "Asia/Shanghai" });
		const changed = await call("PUT", "/v1/users/u1", key, { locale: "pt-BR", timezone: "America/Sao_Paulo" });
		expect(changed.body).toMatchObject({ locale: "pt-BR", timezone: "America/Sao_Paulo" });
		const cleared = await call("PUT", "/v1/users/u1", key, { locale: null, timezone: null });
		expect(cleared.body).toMatchObject({ locale: null, timezone: null });
	});

	it("stores unicode and injection-looking attribute values verbatim", async () => {
		const { appId, key } = await newApp();
		const attributes = {
			"name ✨": "Zoë 北京 🚀",
			sql: "x' OR 1=1--; DROP TABLE users;--",
			html: "<img src=x onerror=alert(1)>",
			nul: "a\u0000b",
			rtl: "\u202Eevil",
		};
		const res = await call("PUT", "/v1/users/u1", key, { attributes });
		expect(res.status).toBe(200);
		expect((await call("GET", "/v1/users/u1", key)).body.attributes).toEqual(attributes);
		// Stored as data, never run: the app has exactly that one user row.
		const { results } = await env.DB.prepare("SELECT id FROM users WHERE app_id = ?").bind(appId).all<{ id: string }>();
		expect(results).toEqual([{ id: "u1" }]);
	});

	it("ids: 128 characters of the id alphabet are accepted, 129 are not", async () => {
		const { key } = await newApp();
		const longest = `${id(120)}_.:@-AZ9`;
		expect(longest).toHaveLength(128);
		const res = await call("PUT", `/v1/users/${longest}`, key, {});
		expect(res.status).toBe(200);
		expect(res.body.id).toBe(longest);
		expect((await call("GET", `/v1/users/${longest}`, key)).status).toBe(200);
		const before = await snapshot();
		const tooLong = call("PUT", `/v1/users/${id(129)}`, key, {});
		const err = await tooLong;
		expectError(err, 400, "invalid_request");
		expect(detailPaths(err)).toContain("userId");
		expect(await snapshot()).toEqual(before);
	});

	it("attributes may hold exactly 16 KiB; one byte more answers 413 and changes nothing", async () => {
		const { key } = await newApp();
		// {"k":"<filler>"} is 8 bytes of JSON around the filler.
		const exact = { k: "x".repeat(16 * 1024 - 8) };
		expect(new TextEncoder().encode(JSON.stringify(exact)).byteLength).toBe(16 * 1024);
		const fits = await call("PUT", "/v1/users/u1", key, { attributes: exact });
		expect(fits.status).toBe(200);
		const before = await snapshot();
		const over = await call("PUT", "/v1/users/u1", key, { attributes: { k: "x".repeat(16 * 1024 - 7) } });
		expectError(over, 413, "payload_too_large");
		expect(detailPaths(over)).toContain("attributes");
		expect(await snapshot()).toEqual(before);
	});

	it("the 16 KiB limit applies after the merge, and multi-byte characters count as bytes", async () => {
		const { key } = await newApp();
		await ok("PUT", "/v1/users/u1", key, { attributes: { a: "x".repeat(10_000) } });
		const before = await snapshot();
		// Each call alone is small; merged they pass 16 KiB.
		expectError(await call("PUT", "/v1/users/u1", key, { attributes: { b: "y".repeat(7_000) } }), 413, "payload_too_large");
		expect(await snapshot()).toEqual(before);
		// Replacing a key frees its bytes: the same size under the old key fits.
		expect((await call("PUT", "/v1/users/u1", key, { attributes: { a: null, b: "y".repeat(7_000) } })).status).toBe(200);
		// 6,000 three-byte characters are 18,000 bytes.
		expectError(await call("PUT", "/v1/users/u2", key, { attributes: { c: "北".repeat(6_000) } }), 413, "payload_too_large");
		expectError(await call("GET", "/v1/users/u2", key), 404, "not_found");
	});

	it("a request body over 1 MiB answers 413 whether or not Content-Length announces it", async () => {
		const { key } = await newApp();
		const before = await snapshot();
		const big = JSON.stringify({ attributes: { a: "x".repeat(1024 * 1024) } });
		expectError(await call("PUT", "/v1/users/u1", key, undefined, { raw: big }), 413, "payload_too_large");
		const bytes = new TextEncoder().encode(big);
		const stream = new ReadableStream<Uint8Array>({
			start(controller) {
				for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
				controller.close();
			},
		});
		expectError(await call("PUT", "/v1/users/u1", key, undefined, { raw: stream }), 413, "payload_too_large");
		expect(await snapshot()).toEqual(before);
	});

	it("attribute values may nest 64 levels deep (counting the body), not 65", async () => {
		const { key } = await newApp();
		const nest = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;
		const fits = await call("PUT", "/v1/users/u1", key, undefined, { raw: `{"attributes":{"a":${nest(62)}}}` });
		expect(fits.status).toBe(200);
		expect(JSON.stringify(fits.body.attributes.a)).toBe(nest(62));
		const deeper = await call("PUT", "/v1/users/u1", key, undefined, { raw: `{"attributes":{"a":${nest(63)}}}` });
		expectError(deeper, 400, "invalid_request");
		// Brackets inside strings do not count.
		expect((await call("PUT", "/v1/users/u1", key, { attributes: { s: "[[[[".repeat(100) } })).status).toBe(200);
	});

	it("GET of an unknown user answers 404", async () => {
		const { key } = await newApp();
		expectError(await call("GET", "/v1/users/ghost", key), 404, "not_found");
	});
});

describe("devices", () => {
	it("registers an APNs device with its token and shows it on the user", async () => {
		const { key } = await newApp();
		const res = await call("POST", "/v1/users/u1/devices", key, {
			id: "iphone",
			platform: "ios",
			channel: "apns",
			token: "a1b2c3d4",
		});
		expect(res.status).toBe(201);
		expect(res.body).toEqual({
			id: "iphone",
			platform: "ios",
			channel: "apns",
			token: "a1b2c3d4",
			subscription: null,
			status: "active",
			last_error: null,
			created_at: expect.stringMatching(ISO),
			updated_at: expect.stringMatching(ISO),
		});
		// Registering a device for an unknown user creates the user.
		const user = await call("GET", "/v1/users/u1", key);
		expect(user.status).toBe(200);
		expect(user.body.devices).toEqual([res.body]);
	});

	it("registers a Web Push device with its subscription", async () => {
		const { key } = await newApp();
		const subscription = webPushSubscription();
		const res = await call("POST", "/v1/users/u1/devices", key, {
			id: "browser",
			platform: "web",
			channel: "webpush",
			subscription,
		});
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ id: "browser", channel: "webpush", token: null, subscription, status: "active" });
		expect((await call("GET", "/v1/users/u1", key)).body.devices[0].subscription).toEqual(subscription);
	});

	it("generates an id when none is given; other vendor channels take a token", async () => {
		const { key } = await newApp();
		const ws = await call("POST", "/v1/users/u1/devices", key, { platform: "desktop", channel: "ws" });
		expect(ws.status).toBe(201);
		expect(ws.body.id).toMatch(/^[A-Za-z0-9_.:@-]{1,128}$/);
		const other = await call("POST", "/v1/users/u1/devices", key, { platform: "desktop", channel: "ws" });
		expect(other.body.id).not.toBe(ws.body.id);
		for (const channel of ["fcm", "hms", "xiaomi"]) {
			const res = await call("POST", "/v1/users/u1/devices", key, {
				id: `a-${channel}`,
				platform: "android",
				channel,
				token: `t-${channel}`,
			});
			expect(res.status).toBe(201);
			expect(res.body).toMatchObject({ channel, token: `t-${channel}` });
		}
		expect((await call("POST", "/v1/users/u1/devices", key, { id: "thing", platform: "iot", channel: "ws" })).status).toBe(201);
		expect((await call("GET", "/v1/users/u1", key)).body.devices).toHaveLength(6);
	});

	it("re-registering a device id replaces its token instead of adding a device", async () => {
		const { key } = await newApp();
		await ok("POST", "/v1/users/u1/devices", key, { id: "phone", platform: "ios", channel: "apns", token: "old" });
		const res = await call("POST", "/v1/users/u1/devices", key, { id: "phone", platform: "ios", channel: "apns", token: "new" });
		expect(res.status).toBe(201);
		expect(res.body.token).toBe("new");
		const devices = (await call("GET", "/v1/users/u1", key)).body.devices;
		expect(devices).toHaveLength(1);
		expect(devices[0].token).toBe("new");
	});

	it("device ids: 128 characters accepted, 129 rejected", async () => {
		const { key } = await newApp();
		expect((await call("POST", "/v1/users/u1/devices", key, { id: id(128, "d"), platform: "web", channel: "ws" })).status).toBe(
			201,
		);
		const res = await call("POST", "/v1/users/u1/devices", key, { id: id(129, "d"), platform: "web", channel: "ws" });
		expectError(res, 400, "invalid_request");
		expect(detailPaths(res)).toEqual(["id"]);
		expect((await call("DELETE", `/v1/users/u1/devices/${id(128, "d")}`, key)).status).toBe(204);
		const del = await call("DELETE", `/v1/users/u1/devices/${id(129, "d")}`, key);
		expectError(del, 400, "invalid_request");
		expect(detailPaths(del)).toEqual(["deviceId"]);
	});

	it("DELETE removes the device; deleting it again answers 404", async () => {
		const { key } = await newApp();
		await ok("POST", "/v1/users/u1/devices", key, { id: "d1", platform: "ios", channel: "apns", token: "t" });
		await ok("POST", "/v1/users/u1/devices", key, { id: "d2", platform: "web", channel: "ws" });
		const del = await call("DELETE", "/v1/users/u1/devices/d1", key);
		expect(del.status).toBe(204);
		expect(del.text).toBe("");
		const devices = (await call("GET", "/v1/users/u1", key)).body.devices;
		expect(devices.map((d: { id: string }) => d.id)).toEqual(["d2"]);
		expectError(await call("DELETE", "/v1/users/u1/devices/d1", key), 404, "not_found");
		expectError(await call("DELETE", "/v1/users/nobody/devices/d2", key), 404, "not_found");
	});
});

describe("DELETE /v1/users/{userId}", () => {
	it("erases attributes, tags and devices; the id can be reused from scratch", async () => {
		const { key } = await newApp();
		await ok("PUT", "/v1/users/u1", key, { attributes: { a: 1 }, locale: "en" });
		await ok("PUT", "/v1/users/u1/tags", key, { add: ["vip", "beta"] });
		await ok("PUT", "/v1/users/u2/tags", key, { add: ["vip"] });
		await ok("POST", "/v1/users/u1/devices", key, { id: "d1", platform: "ios", channel: "apns", token: "t" });
		const del = await call("DELETE", "/v1/users/u1", key);
		expect(del.status).toBe(204);
		expect(del.text).toBe("");
		expectError(await call("GET", "/v1/users/u1", key), 404, "not_found");
		expect((await call("GET", "/v1/tags/vip/users", key)).body.users).toEqual(["u2"]);
		expectError(await call("GET", "/v1/tags/beta/users", key), 404, "not_found");
		expect((await call("GET", "/v1/tags", key)).body.tags).toEqual([{ name: "vip", users: 1 }]);
		expectError(await call("DELETE", "/v1/users/u1/devices/d1", key), 404, "not_found");
		expectError(await call("DELETE", "/v1/users/u1", key), 404, "not_found");
		const fresh = await call("PUT", "/v1/users/u1", key, {});
		expect(fresh.body).toMatchObject({ attributes: {}, locale: null, tags: [], devices: [] });
	});
});

describe("POST /v1/users/{userId}/tokens", () => {
	it("mints a JWT for this user of this app, valid for an hour by default", async () => {
		const app = await newApp();
		const t0 = Math.floor(Date.now() / 1000);
		const res = await call("POST", "/v1/users/u1/tokens", app.key, {});
		expect(res.status).toBe(201);
		expect(Object.keys(res.body).sort()).toEqual(["expires_at", "token"]);
		const claims = jwtPayload(res.body.token);
		expect(claims.sub).toBe("u1");
		expect(claims.aud).toBe(app.appId);
		expect(claims.exp).toBeTypeOf("number");
		expect(claims.exp as number).toBeGreaterThanOrEqual(t0 + 3600);
		expect(claims.exp as number).toBeLessThanOrEqual(t0 + 3600 + 5);
		expect(Date.parse(res.body.expires_at)).toBe((claims.exp as number) * 1000);
		// No body at all is the same as {}.
		const bare = await call("POST", "/v1/users/u1/tokens", app.key, undefined, { raw: "" });
		expect(bare.status).toBe(201);
	});

	it("honours ttl_seconds between 60 and 30 days", async () => {
		const app = await newApp();
		for (const ttl of [60, 86_400, 30 * 24 * 3600]) {
			const t0 = Math.floor(Date.now() / 1000);
			const res = await call("POST", "/v1/users/u1/tokens", app.key, { ttl_seconds: ttl });
			expect(res.status).toBe(201);
			const exp = jwtPayload(res.body.token).exp as number;
			expect(exp - t0).toBeGreaterThanOrEqual(ttl);
			expect(exp - t0).toBeLessThanOrEqual(ttl + 5);
		}
		for (const ttl of [59, 30 * 24 * 3600 + 1]) {
			const res = await call("POST", "/v1/users/u1/tokens", app.key, { ttl_seconds: ttl });
			expectError(res, 400, "invalid_request");
			expect(detailPaths(res)).toEqual(["ttl_seconds"]);
		}
	});

	it("the token opens the user's WebSocket, and a token of another app's secret does not", async () => {
		const app = await newApp();
		const token = (await call("POST", "/v1/users/u1/tokens", app.key, {})).body.token as string;
		const socket = await openSocket(token, "d1");
		expect(socket.frames[0]).toMatchObject({ type: "welcome", user_id: "u1", device_id: "d1" });
		socket.close();
		// This app's claims carrying a signature made with another app's secret are refused.
		const other = await newApp();
		const foreign = (await call("POST", "/v1/users/u1/tokens", other.key, {})).body.token as string;
		const [header, payload] = token.split(".");
		const forged = `${header}.${payload}.${foreign.split(".")[2]}`;
		const refused = await exports.default.fetch(`http://warbler.test/v1/connect?token=${encodeURIComponent(forged)}&device=d1`, {
			headers: { upgrade: "websocket" },
		});
		expect(refused.status).toBe(401);
	});
});
