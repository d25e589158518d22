/**
 * /v1/webhooks in workerd: create (secret shown once, sealed at rest), list, get, patch, delete,
 * rotate, the delivery log and replay; URL and event validation; the per-app limit; isolation
 * (another app's key gets 404 and changes nothing); signatures checked with the standardwebhooks
 * package, an independent implementation of the spec.
 */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it } from "vitest";
import { newWebhookSecret, signedHeaders } from "../../../core/webhooks/sign.js";
import { checkWebhookUrl } from "../../../core/webhooks/url.js";
import { expectError } from "../api/helpers.js";
import { call, newApp, type TestApp } from "../http.js";

const URL_OK = "https://hooks.example.com/warbler";
let A: TestApp;
let B: TestApp;

beforeAll(async () => {
	A = await newApp("webhooks A");
	B = await newApp("webhooks B");
});

async function create(app: TestApp, body: Record<string, unknown> = { url: URL_OK, events: ["message.accepted"] }) {
	const r = await call("POST", "/v1/webhooks", app.key, body);
	expect(r.status, r.text).toBe(201);
	return r.body as { id: string; secret: string; url: string; events: string[]; enabled: boolean };
}

async function endpointRows(appId: string) {
	return (await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE app_id = ? ORDER BY id").bind(appId).all()).results;
}

describe("CRUD", () => {
	it("creates an endpoint: the secret is shown once, whsec_ + base64, and sealed at rest", async () => {
		const hook = await create(A, { url: URL_OK, events: ["message.accepted", "message.completed"], description: "billing" });
		expect(hook).toMatchObject({
			url: URL_OK,
			events: ["message.accepted", "message.completed"],
			enabled: true,
			description: "billing",
			disabled_reason: null,
		});
		expect(hook.id).toMatch(/^whk_/);
		expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
		const raw = JSON.stringify(await endpointRows(A.appId));
		expect(raw).not.toContain(hook.secret);
		expect(raw).not.toContain(hook.secret.slice("whsec_".length));

		const got = await call("GET", `/v1/webhooks/${hook.id}`, A.key);
		expect(got.status).toBe(200);
		expect(got.body.secret).toBeUndefined();
		expect(got.body.url).toBe(URL_OK);
		const list = await call("GET", "/v1/webhooks", A.key);
		expect(list.status).toBe(200);
		expect(list.body.webhooks.map((w: { id: string }) => w.id)).toContain(hook.id);
		expect(list.text).not.toContain("whsec_");
	});

	it("patches events, url and enabled; enabling again clears the disabled reason", async () => {
		const hook = await create(A);
		const r = await call("PATCH", `/v1/webhooks/${hook.id}`, A.key, { enabled: false, events: ["schedule.fired"] });
		expect(r.status, r.text).toBe(200);
		expect(r.body).toMatchObject({ enabled: false, events: ["schedule.fired"], url: URL_OK });
		await env.DB.prepare("UPDATE webhook_endpoints SET disabled_reason = 'the endpoint answered 410 Gone' WHERE id = ?")
			.bind(hook.id)
			.run();
		expect((await call("GET", `/v1/webhooks/${hook.id}`, A.key)).body.disabled_reason).toMatch(/410/);
		const back = await call("PATCH", `/v1/webhooks/${hook.id}`, A.key, { enabled: true, url: "https://other.example.com/h" });
		expect(back.body).toMatchObject({ enabled: true, disabled_reason: null, url: "https://other.example.com/h" });
	});

	it("deletes an endpoint; then it is 404", async () => {
		const hook = await create(A);
		expect((await call("DELETE", `/v1/webhooks/${hook.id}`, A.key)).status).toBe(204);
		expectError(await call("GET", `/v1/webhooks/${hook.id}`, A.key), 404, "not_found");
		expectError(await call("DELETE", `/v1/webhooks/${hook.id}`, A.key), 404, "not_found");
	});

	it("rotates the secret: a new one shown once, the old one valid for 24 hours", async () => {
		const hook = await create(A);
		const r = await call("POST", `/v1/webhooks/${hook.id}/secret/rotate`, A.key);
		expect(r.status, r.text).toBe(200);
		expect(r.body.secret).toMatch(/^whsec_/);
		expect(r.body.secret).not.toBe(hook.secret);
		const until = Date.parse(r.body.previous_secret_valid_until);
		expect(until - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
		expect(until - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
	});

	it("an empty delivery log, and 404 for a delivery that does not exist", async () => {
		const hook = await create(A);
		const log = await call("GET", `/v1/webhooks/${hook.id}/deliveries?limit=10`, A.key);
		expect(log.status).toBe(200);
		expect(log.body).toEqual({ deliveries: [], next_cursor: null });
		expectError(await call("POST", `/v1/webhooks/${hook.id}/deliveries/whd_NOPE/replay`, A.key), 404, "not_found");
	});
});

describe("validation", () => {
	const bad: [string, Record<string, unknown>][] = [
		["an unknown event type", { url: URL_OK, events: ["message.exploded"] }],
		["no events", { url: URL_OK, events: [] }],
		["http on a public host", { url: "http://hooks.example.com/x", events: ["message.accepted"] }],
		["a private IPv4 address", { url: "https://10.1.2.3/x", events: ["message.accepted"] }],
		["a link-local address", { url: "https://169.254.169.254/latest", events: ["message.accepted"] }],
		["an IPv6 unique-local address", { url: "https://[fd00::1]/x", events: ["message.accepted"] }],
		["a .internal name", { url: "https://db.internal/x", events: ["message.accepted"] }],
		["credentials in the URL", { url: "https://u:p@hooks.example.com/x", events: ["message.accepted"] }],
		["not a URL", { url: "hooks", events: ["message.accepted"] }],
		["an unknown field", { url: URL_OK, events: ["message.accepted"], secret: "whsec_mine" }],
	];
	for (const [name, body] of bad) {
		it(`400 for ${name}, and nothing is stored`, async () => {
			const before = await endpointRows(B.appId);
			expectError(await call("POST", "/v1/webhooks", B.key, body), 400, "invalid_request");
			expect(await endpointRows(B.appId)).toEqual(before);
		});
	}

	it("PATCH validates the same way", async () => {
		const hook = await create(B);
		expectError(await call("PATCH", `/v1/webhooks/${hook.id}`, B.key, { url: "https://192.168.0.1/" }), 400, "invalid_request");
		expectError(await call("PATCH", `/v1/webhooks/${hook.id}`, B.key, { events: ["nope"] }), 400, "invalid_request");
		await call("DELETE", `/v1/webhooks/${hook.id}`, B.key);
	});

	it("production refuses loopback; the local stack (WARBLER_ENV=local) allows http on 127.0.0.1", () => {
		expect(checkWebhookUrl("http://127.0.0.1:9000/h", { WARBLER_ENV: "production" })).toMatch(/https/);
		expect(checkWebhookUrl("https://127.0.0.1:9000/h", { WARBLER_ENV: "production" })).toMatch(/private|loopback/);
		expect(checkWebhookUrl("http://127.0.0.1:9000/h", { WARBLER_ENV: "local" })).toBeNull();
		expect(checkWebhookUrl("http://10.0.0.1/h", { WARBLER_ENV: "local" })).toMatch(/https/);
		expect(checkWebhookUrl(URL_OK, { WARBLER_ENV: "production" })).toBeNull();
	});

	it("an app keeps at most 20 endpoints: the 21st is 409", async () => {
		const app = await newApp("webhook limit");
		for (let i = 0; i < 20; i++) await create(app, { url: `${URL_OK}/${i}`, events: ["message.accepted"] });
		expectError(await call("POST", "/v1/webhooks", app.key, { url: URL_OK, events: ["message.accepted"] }), 409, "conflict");
		expect((await call("GET", "/v1/webhooks", app.key)).body.webhooks).toHaveLength(20);
	});

	it("a read-only key cannot manage webhooks", async () => {
		const r = await call("POST", `/v1/apps/${A.appId}/keys`, "test-admin-token", { name: "ro", scopes: ["read"] });
		expectError(await call("GET", "/v1/webhooks", r.body.secret), 403, "forbidden");
	});
});

describe("isolation", () => {
	let hookA: string;
	beforeAll(async () => {
		hookA = (await create(A)).id;
	});
	const cases: [string, string, () => string, unknown?][] = [
		["GET", "endpoint", () => `/v1/webhooks/${hookA}`],
		["PATCH", "endpoint", () => `/v1/webhooks/${hookA}`, { enabled: false }],
		["DELETE", "endpoint", () => `/v1/webhooks/${hookA}`],
		["POST", "rotate", () => `/v1/webhooks/${hookA}/secret/rotate`],
		["GET", "deliveries", () => `/v1/webhooks/${hookA}/deliveries`],
		["POST", "replay", () => `/v1/webhooks/${hookA}/deliveries/whd_X/replay`],
	];
	for (const [method, what, path, body] of cases) {
		it(`B's key: ${method} ${what} of A's webhook is 404 and changes nothing`, async () => {
			const before = await endpointRows(A.appId);
			const r = await call(method, path(), B.key, body);
			expectError(r, 404, "not_found");
			expect(r.text).not.toContain(A.appId);
			expect(await endpointRows(A.appId)).toEqual(before);
		});
	}
	it("B's list does not show A's endpoints", async () => {
		const list = await call("GET", "/v1/webhooks", B.key);
		expect(list.body.webhooks.map((w: { id: string }) => w.id)).not.toContain(hookA);
	});
});

describe("signing", () => {
	it("headers verify with the standardwebhooks package, for each secret during a rotation", async () => {
		const current = newWebhookSecret();
		const previous = newWebhookSecret();
		const body = JSON.stringify({ type: "message.accepted", timestamp: new Date().toISOString(), data: { id: "msg_1" } });
		const ts = Math.floor(Date.now() / 1000);
		const headers = await signedHeaders([current, previous], "msg_abc", ts, body);
		expect(headers["webhook-id"]).toBe("msg_abc");
		expect(headers["webhook-timestamp"]).toBe(String(ts));
		expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
		expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
		expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
		// The signature is over the exact bytes: one changed character fails.
		expect(() => new Webhook(current).verify(body.replace("msg_1", "msg_2"), headers)).toThrow();
		expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
		// And ours equals the package's own signing.
		const single = await signedHeaders([current], "msg_abc", ts, body);
		expect(single["webhook-signature"]).toBe(new Webhook(current).sign("msg_abc", new Date(ts * 1000), body));
	});
});
