/**
 * Tenant isolation: app B's key acting on app A's ids never reads, changes or reveals anything of
 * A's. Reads and deletes answer 404; create-style writes land in B's own namespace.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { receiptToken } from "../../../core/receipts/token.js";
import { ADMIN, call, newApp, newKey, ok, send, type TestApp } from "../http.js";
import { appRows, expectError, jwtPayload, openSocket, type Snapshot, snapshot, vendorSentMessage, waitFor } from "./helpers.js";

let A: TestApp;
let B: TestApp;
let messageA: string;
let aliceView: unknown;

/** B's request must leave every one of A's rows as it was. */
async function untouchedA<T>(fn: () => Promise<T>): Promise<T> {
	const before = await appRows(A.appId);
	const out = await fn();
	expect(await appRows(A.appId)).toEqual(before);
	return out;
}

/** B's request must change nothing anywhere. */
async function untouched<T>(fn: () => Promise<T>): Promise<T> {
	const before: Snapshot = await snapshot();
	const out = await fn();
	expect(await snapshot()).toEqual(before);
	return out;
}

beforeAll(async () => {
	A = await newApp("A");
	B = await newApp("B");
	await ok("PUT", "/v1/users/alice", A.key, { attributes: { owner: "A" }, locale: "en", timezone: "UTC" });
	await ok("PUT", "/v1/users/alice/tags", A.key, { add: ["vip", "a-only"] });
	await ok("POST", "/v1/tags/vip/users", A.key, { add: ["bob"] });
	await ok("POST", "/v1/users/alice/devices", A.key, { id: "phone", platform: "ios", channel: "apns", token: "A-token" });
	messageA = (
		await ok("POST", "/v1/messages", A.key, { audience: { users: ["alice"] }, content: { type: "text", body: "for A" } })
	).id;
	aliceView = (await call("GET", "/v1/users/alice", A.key)).body;
});

describe("B's key on A's resources: reads and deletes answer 404 and change nothing", () => {
	const cases: { name: string; method: string; path: () => string }[] = [
		{ name: "GET user", method: "GET", path: () => "/v1/users/alice" },
		{ name: "DELETE user", method: "DELETE", path: () => "/v1/users/alice" },
		{ name: "DELETE device", method: "DELETE", path: () => "/v1/users/alice/devices/phone" },
		{ name: "GET tag users", method: "GET", path: () => "/v1/tags/vip/users" },
		{ name: "GET tag users (A-only tag)", method: "GET", path: () => "/v1/tags/a-only/users?limit=1" },
		{ name: "GET message", method: "GET", path: () => `/v1/messages/${messageA}` },
		{ name: "GET recipient", method: "GET", path: () => `/v1/messages/${messageA}/recipients/alice` },
		{ name: "DELETE (recall) message", method: "DELETE", path: () => `/v1/messages/${messageA}` },
	];
	for (const c of cases) {
		it(`${c.method} ${c.name}`, async () => {
			const res = await untouched(() => call(c.method, c.path(), B.key));
			const error = expectError(res, 404, "not_found");
			// The answer gives nothing of A's away.
			expect(res.text).not.toContain(A.appId);
			expect(error.message).not.toMatch(/another app|exists/i);
		});
	}

	it("GET /v1/tags lists none of A's tags", async () => {
		const res = await untouched(() => call("GET", "/v1/tags", B.key));
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ tags: [], next_cursor: null });
	});

	it("A still sees everything, unrecalled", async () => {
		expect((await call("GET", "/v1/users/alice", A.key)).body).toEqual(aliceView);
		const msg = await call("GET", `/v1/messages/${messageA}`, A.key);
		expect(msg.status).toBe(200);
		expect(msg.body.status).not.toBe("recalled");
		expect((await call("GET", "/v1/tags/vip/users", A.key)).body.users).toEqual(["alice", "bob"]);
	});
});

describe("B's key on A's ids: writes land in B's namespace only", () => {
	it("PUT user creates B's own alice; A's alice keeps her attributes", async () => {
		const res = await untouchedA(() => call("PUT", "/v1/users/alice", B.key, { attributes: { owner: "B", extra: 1 } }));
		expect(res.status).toBe(200);
		// A fresh user: none of A's attributes, tags, devices, locale.
		expect(res.body).toMatchObject({ id: "alice", attributes: { owner: "B", extra: 1 }, locale: null, tags: [], devices: [] });
		const nulling = await untouchedA(() =>
			call("PUT", "/v1/users/alice", B.key, { attributes: { owner: null }, timezone: null }),
		);
		expect(nulling.body.attributes).toEqual({ extra: 1 });
		expect((await call("GET", "/v1/users/alice", A.key)).body).toEqual(aliceView);
		const bRows = await appRows(B.appId);
		expect(bRows.users).toHaveLength(1);
	});

	it("POST devices with A's device id registers B's own device", async () => {
		const res = await untouchedA(() =>
			call("POST", "/v1/users/alice/devices", B.key, { id: "phone", platform: "android", channel: "fcm", token: "B-token" }),
		);
		expect(res.status).toBe(201);
		expect((await call("GET", "/v1/users/alice", B.key)).body.devices.map((d: { token: string }) => d.token)).toEqual([
			"B-token",
		]);
		const aDevices = (await call("GET", "/v1/users/alice", A.key)).body.devices;
		expect(aDevices).toHaveLength(1);
		expect(aDevices[0]).toMatchObject({ id: "phone", platform: "ios", channel: "apns", token: "A-token" });
	});

	it("POST tokens mints a token for B's user, never A's", async () => {
		const res = await untouchedA(() => call("POST", "/v1/users/alice/tokens", B.key, {}));
		expect(res.status).toBe(201);
		const claims = jwtPayload(res.body.token);
		expect(claims.aud).toBe(B.appId);
		expect(claims.sub).toBe("alice");
	});

	it("PUT user tags adds to B's alice and cannot remove A's tags", async () => {
		const res = await untouchedA(() => call("PUT", "/v1/users/alice/tags", B.key, { add: ["b-tag"], remove: ["vip", "a-only"] }));
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ tags: ["b-tag"] });
		expect((await call("GET", "/v1/users/alice", A.key)).body.tags).toEqual(["a-only", "vip"]);
	});

	it("POST tag users cannot remove A's members and adds only B's users", async () => {
		const removed = await untouchedA(() => call("POST", "/v1/tags/vip/users", B.key, { remove: ["alice", "bob"] }));
		expect(removed.body).toEqual({ added: 0, removed: 0 });
		const added = await untouchedA(() => call("POST", "/v1/tags/vip/users", B.key, { add: ["bob", "carol"] }));
		expect(added.body).toEqual({ added: 2, removed: 0 });
		expect((await call("GET", "/v1/tags/vip/users", B.key)).body.users).toEqual(["bob", "carol"]);
		expect((await call("GET", "/v1/tags/vip/users", A.key)).body.users).toEqual(["alice", "bob"]);
		expect((await call("GET", "/v1/tags", B.key)).body.tags).toEqual([
			{ name: "b-tag", users: 1 },
			{ name: "vip", users: 2 },
		]);
		expect((await call("GET", "/v1/tags", A.key)).body.tags).toEqual([
			{ name: "a-only", users: 1 },
			{ name: "vip", users: 2 },
		]);
	});

	it("POST messages to A's user ids reaches only B's users; A's inbox never sees it", async () => {
		const aToken = (await ok("POST", "/v1/users/alice/tokens", A.key, {})).token as string;
		const aSocket = await openSocket(aToken, "phone");
		const bToken = (await ok("POST", "/v1/users/alice/tokens", B.key, {})).token as string;
		const bSocket = await openSocket(bToken, "phone");
		const sent = await untouchedA(() =>
			call("POST", "/v1/messages", B.key, { audience: { users: ["alice", "bob"] }, content: { type: "text", body: "from B" } }),
		);
		expect(sent.status).toBe(202);
		await waitFor(() => bSocket.frames.some((fr) => fr.type === "message" && fr.id === sent.body.id));
		// A's alice only ever gets A's own message.
		await new Promise((r) => setTimeout(r, 300));
		const aMessages = aSocket.frames.filter((fr) => fr.type === "message").map((fr) => fr.id);
		expect(aMessages).toEqual([messageA]);
		expectError(await call("GET", `/v1/messages/${sent.body.id}`, A.key), 404, "not_found");
		expectError(await call("GET", `/v1/messages/${sent.body.id}/recipients/alice`, A.key), 404, "not_found");
		aSocket.close();
		bSocket.close();
	});

	it("a client token of B cannot open A's socket for the same user id", async () => {
		const bToken = (await ok("POST", "/v1/users/alice/tokens", B.key, {})).token as string;
		const socket = await openSocket(bToken, "tablet");
		const welcome = socket.frames[0]!;
		expect(welcome).toMatchObject({ type: "welcome", user_id: "alice" });
		// B's alice has only B's message; A's messageA never shows.
		await new Promise((r) => setTimeout(r, 200));
		expect(socket.frames.some((fr) => fr.type === "message" && fr.id === messageA)).toBe(false);
		socket.close();
	});

	it("DELETE of B's alice erases B's alice only", async () => {
		const res = await untouchedA(() => call("DELETE", "/v1/users/alice", B.key));
		expect(res.status).toBe(204);
		expectError(await call("GET", "/v1/users/alice", B.key), 404, "not_found");
		const aAlice = await call("GET", "/v1/users/alice", A.key);
		expect(aAlice.status).toBe(200);
		expect(aAlice.body.attributes).toEqual({ owner: "A" });
		expect(aAlice.body.tags).toEqual(["a-only", "vip"]);
		expect(aAlice.body.devices).toHaveLength(1);
	});
});

describe("keys across apps (admin routes)", () => {
	it("DELETE /v1/apps/{A}/keys/{B's key id} answers 404 and B's key keeps working", async () => {
		const res = await untouched(() => call("DELETE", `/v1/apps/${A.appId}/keys/${B.keyId}`, ADMIN));
		expectError(res, 404, "not_found");
		expect((await call("GET", "/v1/tags", B.key)).status).toBe(200);
		const bInfo = await call("GET", `/v1/apps/${B.appId}`, ADMIN);
		expect(bInfo.body.keys.find((k: { id: string }) => k.id === B.keyId).revoked_at).toBeNull();
	});

	it("an app's key list holds only its own keys", async () => {
		const extraB = await newKey(B.appId, ["read"]);
		const aInfo = await call("GET", `/v1/apps/${A.appId}`, ADMIN);
		const aKeyIds = aInfo.body.keys.map((k: { id: string }) => k.id);
		expect(aKeyIds).toEqual([A.keyId]);
		expect(aKeyIds).not.toContain(extraB.id);
	});

	it("revoking A's key leaves B's keys working", async () => {
		const spare = await newKey(A.appId);
		expect((await call("DELETE", `/v1/apps/${A.appId}/keys/${spare.id}`, ADMIN)).status).toBe(204);
		expectError(await call("GET", "/v1/tags", spare.secret), 401, "unauthorized");
		expect((await call("GET", "/v1/tags", B.key)).status).toBe(200);
		expect((await call("GET", "/v1/tags", A.key)).status).toBe(200);
	});
});

describe("vendor receipts across apps", () => {
	it("B's receipt token cannot touch A's message: B's URL ignores it, A's URL with B's token is a 404", async () => {
		const id = await vendorSentMessage(A, "alice", [
			{ channel: "vivo", deviceId: "x9", token: (m) => `vv-${m}` },
			{ channel: "oppo", deviceId: "reno", token: (m) => `op-${m}` },
		]);
		const bodies = {
			vivo: { t1: { param: id, targets: `vv-${id}`, ackTime: Date.now(), ackType: "0" } },
			oppo: [{ registrationIds: `op-${id}`, param: id, eventType: "push_arrive" }],
		};
		const post = (channel: string, appId: string, token: string, body: unknown) =>
			send(`http://warbler.test/v1/receipts/${channel}/${appId}/${token}`, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify(body),
			});
		const counts = async () => (await call("GET", `/v1/messages/${id}`, A.key)).body.counts.by_channel;
		for (const channel of ["vivo", "oppo"] as const) {
			const tokenB = await receiptToken(env, channel, B.appId);
			// B's own URL naming A's message and A's device: accepted as B's, A's counts untouched.
			expect((await post(channel, B.appId, tokenB, bodies[channel])).status).toBe(200);
			// B's token on A's URL: the same 404 as any wrong token, nothing given away.
			const wrong = await post(channel, A.appId, tokenB, bodies[channel]);
			expectError(wrong, 404, "not_found");
			expect(wrong.text).not.toContain(A.appId);
			expect((await counts())[channel].delivered, channel).toBeUndefined();
		}
		// A's own URL: the same bodies count.
		for (const channel of ["vivo", "oppo"] as const) {
			expect((await post(channel, A.appId, await receiptToken(env, channel, A.appId), bodies[channel])).status).toBe(200);
			expect((await counts())[channel].delivered, channel).toBe(1);
		}
	});
});
