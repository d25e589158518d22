/**
 * The local vendor simulator (sim/), driven by independent clients: jose for the APNs provider JWT
 * and the FCM service-account assertion, @block65/webcrypto-web-push (WebCrypto) for Web Push.
 */
import { buildPushPayload, encryptNotification } from "@block65/webcrypto-web-push";
import { importPKCS8, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
	type ChannelStats,
	type Delivery,
	type RunningSimulator,
	type SimChannel,
	type SimCredentials,
	simulatorEnv,
	startSimulator,
} from "../../sim/server.ts";

let sim: RunningSimulator;
let creds: SimCredentials;

beforeEach(async () => {
	sim = await startSimulator({ port: 0 });
	const res = await fetch(`${sim.url}/__sim/credentials`);
	creds = (await res.json()) as SimCredentials;
});
afterEach(async () => {
	vi.useRealTimers();
	await sim.close();
});

const now = () => Math.floor(Date.now() / 1000);
const DEVICE = "a1b2c3d4".repeat(8);
const OTHER_DEVICE = "0f".repeat(32);

async function deliveries(query = ""): Promise<Delivery[]> {
	const res = await fetch(`${sim.url}/__sim/deliveries${query}`);
	return (await res.json()) as Delivery[];
}

async function firstDelivery(query: string): Promise<Delivery> {
	const [d] = await deliveries(query);
	if (!d) throw new Error(`no delivery matches ${query}`);
	return d;
}

async function stats(): Promise<Record<SimChannel, ChannelStats>> {
	return (await (await fetch(`${sim.url}/__sim/stats`)).json()) as Record<SimChannel, ChannelStats>;
}

async function fault(body: Record<string, unknown>): Promise<Response> {
	return fetch(`${sim.url}/__sim/faults`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify(body),
	});
}

// ---- APNs ----------------------------------------------------------------------------------------

async function apnsJwt(iat = now() - 25 * 60, privateKeyPem = creds.apns.private_key): Promise<string> {
	const key = await importPKCS8(privateKeyPem, "ES256");
	return new SignJWT({ iss: creds.apns.team_id, iat }).setProtectedHeader({ alg: "ES256", kid: creds.apns.key_id }).sign(key);
}

function apnsSend(jwt: string | null, token: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return fetch(`${sim.url}/3/device/${token}`, {
		method: "POST",
		headers: {
			...(jwt ? { authorization: `bearer ${jwt}` } : {}),
			"apns-topic": creds.apns.bundle_id,
			"apns-push-type": "alert",
			"apns-priority": "10",
			...headers,
		},
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

const alert = {
	aps: { alert: { title: "Hi", subtitle: "there", body: "Hello" }, sound: "default", badge: 1, "thread-id": "c1" },
};

describe("APNs", () => {
	it("accepts a valid provider JWT and payload, answers apns-id and records the push with auth redacted", async () => {
		const jwt = await apnsJwt();
		const res = await apnsSend(jwt, DEVICE, alert, { "apns-collapse-id": "c".repeat(64), "apns-expiration": "0" });
		expect(res.status).toBe(200);
		expect(res.headers.get("apns-id")).toMatch(/^[0-9a-f-]{36}$/i);
		const d = await firstDelivery(`?channel=apns&token=${DEVICE}`);
		expect(d.payload).toEqual(alert);
		expect(d.outcome).toEqual({ status: 200, ok: true });
		const headers = d.headers;
		expect(headers.authorization).toBe("bearer [redacted]");
		expect(headers["apns-topic"]).toBe("dev.warbler.demo");
		expect(JSON.stringify(d)).not.toContain(jwt);
		expect((await stats()).apns).toMatchObject({ requests: 1, sends: 1, token_refreshes: 1, auth_failures: 0 });
	});

	it("answers 403 InvalidProviderToken for a bad signature, ExpiredProviderToken for an old iat, MissingProviderToken without one", async () => {
		const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
		const otherPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await crypto.subtle.exportKey("pkcs8", privateKey)).toString("base64")}\n-----END PRIVATE KEY-----`;
		const forged = await apnsSend(await apnsJwt(undefined, otherPem), DEVICE, alert);
		expect(forged.status).toBe(403);
		expect(await forged.json()).toEqual({ reason: "InvalidProviderToken" });
		const old = await apnsSend(await apnsJwt(now() - 2 * 3600), DEVICE, alert);
		expect(old.status).toBe(403);
		expect(await old.json()).toEqual({ reason: "ExpiredProviderToken" });
		const missing = await apnsSend(null, DEVICE, alert);
		expect(await missing.json()).toEqual({ reason: "MissingProviderToken" });
		expect((await stats()).apns).toMatchObject({ auth_failures: 3, sends: 0, failures: 3 });
	});

	it("validates headers, token and payload with Apple's reasons", async () => {
		const jwt = await apnsJwt();
		const cases: Array<[Response, number, string]> = [
			[await apnsSend(jwt, "not-hex", alert), 400, "BadDeviceToken"],
			[await apnsSend(jwt, DEVICE, alert, { "apns-collapse-id": "c".repeat(65) }), 400, "BadCollapseId"],
			[await apnsSend(jwt, DEVICE, alert, { "apns-priority": "7" }), 400, "BadPriority"],
			[await apnsSend(jwt, DEVICE, alert, { "apns-push-type": "background", "apns-priority": "10" }), 400, "BadPriority"],
			[await apnsSend(jwt, DEVICE, alert, { "apns-topic": "com.other.app" }), 400, "DeviceTokenNotForTopic"],
			[await apnsSend(jwt, DEVICE, alert, { "apns-push-type": "voip" }), 400, "InvalidPushType"],
			[await apnsSend(jwt, DEVICE, ""), 400, "PayloadEmpty"],
			[await apnsSend(jwt, DEVICE, { aps: { alert: "x".repeat(4100) } }), 413, "PayloadTooLarge"],
			[await apnsSend(jwt, `invalid-${DEVICE}`, alert), 410, "Unregistered"],
		];
		for (const [res, status, reason] of cases) {
			expect(res.status).toBe(status);
			expect(((await res.json()) as { reason: string }).reason).toBe(reason);
		}
		const voip = await apnsSend(jwt, DEVICE, { aps: {} }, { "apns-push-type": "voip", "apns-topic": "dev.warbler.demo.voip" });
		expect(voip.status).toBe(200);
	});

	it("410 Unregistered carries a timestamp", async () => {
		const res = await apnsSend(await apnsJwt(), `invalid-${DEVICE}`, alert);
		const body = (await res.json()) as { reason: string; timestamp: number };
		expect(body.timestamp).toBeGreaterThan(Date.now() - 5000);
	});

	it("counts a new provider JWT within 20 minutes as a too-fast refresh and answers 429 TooManyProviderTokenUpdates once", async () => {
		const first = await apnsJwt(now() - 1500);
		expect((await apnsSend(first, DEVICE, alert)).status).toBe(200);
		expect((await apnsSend(first, DEVICE, alert)).status).toBe(200); // same token: no refresh
		const tooSoon = await apnsJwt(now() - 1490);
		const rejected = await apnsSend(tooSoon, DEVICE, alert);
		expect(rejected.status).toBe(429);
		expect(await rejected.json()).toEqual({ reason: "TooManyProviderTokenUpdates" });
		expect((await apnsSend(tooSoon, DEVICE, alert)).status).toBe(200);
		// 20+ minutes after the latest one: a regular refresh.
		expect((await apnsSend(await apnsJwt(now()), DEVICE, alert)).status).toBe(200);
		expect((await stats()).apns).toMatchObject({ token_refreshes: 3, too_fast_token_refreshes: 1 });
	});

	it("an auth fault expires the provider token for good; the next new token is not a too-fast refresh", async () => {
		const jwt = await apnsJwt(now() - 60);
		await fault({ channel: "apns", kind: "auth" });
		const res = await apnsSend(jwt, DEVICE, alert);
		expect(res.status).toBe(403);
		expect(await res.json()).toEqual({ reason: "ExpiredProviderToken" });
		expect((await apnsSend(jwt, DEVICE, alert)).status).toBe(403);
		expect((await apnsSend(await apnsJwt(now()), DEVICE, alert)).status).toBe(200);
		expect((await stats()).apns.too_fast_token_refreshes).toBe(0);
	});
});

// ---- FCM -----------------------------------------------------------------------------------------

async function fcmAssertion(overrides: { aud?: string; lifetime?: number } = {}): Promise<string> {
	const sa = creds.fcm.service_account;
	const key = await importPKCS8(sa.private_key, "RS256");
	const iat = now();
	return new SignJWT({ scope: "https://www.googleapis.com/auth/firebase.messaging" })
		.setProtectedHeader({ alg: "RS256", typ: "JWT" })
		.setIssuer(sa.client_email)
		.setAudience(overrides.aud ?? sa.token_uri)
		.setIssuedAt(iat)
		.setExpirationTime(iat + (overrides.lifetime ?? 3600))
		.sign(key);
}

async function fcmToken(assertion?: string): Promise<Response> {
	return fetch(creds.fcm.service_account.token_uri, {
		method: "POST",
		headers: { "content-type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
			assertion: assertion ?? (await fcmAssertion()),
		}),
	});
}

async function fcmAccessToken(): Promise<string> {
	return ((await (await fcmToken()).json()) as { access_token: string }).access_token;
}

function fcmSend(accessToken: string, message: Record<string, unknown>): Promise<Response> {
	return fetch(`${sim.url}/v1/projects/${creds.fcm.service_account.project_id}/messages:send`, {
		method: "POST",
		headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
		body: JSON.stringify({ message }),
	});
}

const fcmMessage = {
	token: "fcm-device-1",
	notification: { title: "Hi", body: "Hello" },
	data: { message_id: "m1" },
	android: { priority: "HIGH", ttl: "3600s", collapse_key: "c1" },
};

describe("FCM HTTP v1", () => {
	it("exchanges a service-account assertion for an access token and sends with it", async () => {
		const tokenRes = await fcmToken();
		expect(tokenRes.status).toBe(200);
		const token = (await tokenRes.json()) as { access_token: string; expires_in: number; token_type: string };
		expect(token).toMatchObject({ expires_in: 3599, token_type: "Bearer" });
		const res = await fcmSend(token.access_token, fcmMessage);
		expect(res.status).toBe(200);
		const { name } = (await res.json()) as { name: string };
		expect(name).toMatch(new RegExp(`^projects/${creds.fcm.service_account.project_id}/messages/\\d+$`));
		const d = await firstDelivery("?channel=fcm&token=fcm-device-1");
		expect(d.payload).toEqual({ message: fcmMessage });
		expect((await stats()).fcm).toMatchObject({ token_refreshes: 1, sends: 1 });
	});

	it("refuses assertions with a wrong audience, a long lifetime or a foreign signature", async () => {
		const wrongAud = await fcmToken(await fcmAssertion({ aud: "https://oauth2.googleapis.com/token" }));
		expect(wrongAud.status).toBe(400);
		expect(await wrongAud.json()).toMatchObject({ error: "invalid_grant" });
		expect((await fcmToken(await fcmAssertion({ lifetime: 7200 }))).status).toBe(400);
		const [header, payload] = (await fcmAssertion()).split(".");
		const tampered = await fcmToken(`${header}.${payload}.${Buffer.from("nope").toString("base64url")}`);
		expect(await tampered.json()).toEqual({ error: "invalid_grant", error_description: "Invalid JWT Signature." });
		expect((await stats()).fcm).toMatchObject({ auth_failures: 3, token_refreshes: 0 });
	});

	it("answers 401 UNAUTHENTICATED for an unknown or expired access token", async () => {
		const unknown = await fcmSend("ya29.made-up", fcmMessage);
		expect(unknown.status).toBe(401);
		expect(await unknown.json()).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });

		const accessToken = await fcmAccessToken();
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(Date.now() + 3600 * 1000);
		const expired = await fcmSend(accessToken, fcmMessage);
		expect(expired.status).toBe(401);
		const body = (await expired.json()) as { error: { details: Array<{ reason?: string }> } };
		expect(body.error.details[0]?.reason).toBe("ACCESS_TOKEN_EXPIRED");
		expect((await stats()).fcm.auth_failures).toBe(2);
	});

	it("validates the message: string-only data, known fields, 4096-byte limit, unregistered tokens", async () => {
		const accessToken = await fcmAccessToken();
		const nonString = await fcmSend(accessToken, { ...fcmMessage, data: { n: 1 } });
		expect(nonString.status).toBe(400);
		const err = (await nonString.json()) as { error: { status: string; details: Array<Record<string, unknown>> } };
		expect(err.error.status).toBe("INVALID_ARGUMENT");
		expect(err.error.details[0]).toEqual({
			"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			errorCode: "INVALID_ARGUMENT",
		});
		expect((await fcmSend(accessToken, { ...fcmMessage, bogus: 1 })).status).toBe(400);
		expect((await fcmSend(accessToken, { ...fcmMessage, data: { from: "x" } })).status).toBe(400);
		const big = await fcmSend(accessToken, { ...fcmMessage, data: { blob: "x".repeat(4100) } });
		expect(big.status).toBe(400);
		const gone = await fcmSend(accessToken, { ...fcmMessage, token: "invalid-1" });
		expect(gone.status).toBe(404);
		expect(await gone.json()).toMatchObject({ error: { status: "NOT_FOUND", details: [{ errorCode: "UNREGISTERED" }] } });
	});
});

// ---- HMS -----------------------------------------------------------------------------------------

async function hmsAccessToken(secret = creds.hms.client_secret): Promise<Response> {
	return fetch(`${sim.url}/hms/oauth2/v3/token`, {
		method: "POST",
		headers: { "content-type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({ grant_type: "client_credentials", client_id: creds.hms.client_id, client_secret: secret }),
	});
}

function hmsSend(accessToken: string, tokens: string[]): Promise<Response> {
	return fetch(`${sim.url}/hms/v1/${creds.hms.app_id}/messages:send`, {
		method: "POST",
		headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
		body: JSON.stringify({
			validate_only: false,
			message: {
				data: JSON.stringify({ message_id: "m1" }),
				android: {
					urgency: "HIGH",
					ttl: "3600s",
					collapse_key: -1,
					notification: { title: "Hi", body: "Hello", click_action: { type: 3 } },
				},
				token: tokens,
			},
		}),
	});
}

describe("Huawei Push Kit", () => {
	it("issues a client-credentials token and reports an invalid token of a batch as 80100000 with illegal_tokens", async () => {
		const tokenRes = await hmsAccessToken();
		expect(tokenRes.status).toBe(200);
		const { access_token, expires_in } = (await tokenRes.json()) as { access_token: string; expires_in: number };
		expect(expires_in).toBe(3600);
		const res = await hmsSend(access_token, ["hms-a", "invalid-b", "hms-c"]);
		expect(res.status).toBe(200);
		const body = (await res.json()) as { code: string; msg: string; requestId: string };
		expect(body.code).toBe("80100000");
		expect(JSON.parse(body.msg)).toEqual({ success: 2, failure: 1, illegal_tokens: ["invalid-b"] });
		expect(body.requestId).toBeTruthy();
		const recorded = await deliveries("?channel=hms");
		expect(recorded.map((d) => [d.token, d.outcome.ok])).toEqual([
			["hms-a", true],
			["invalid-b", false],
			["hms-c", true],
		]);

		const ok = await hmsSend(access_token, ["hms-a"]);
		expect(await ok.json()).toMatchObject({ code: "80000000", msg: "Success" });
		const none = await hmsSend(access_token, ["invalid-1", "invalid-2"]);
		expect(await none.json()).toMatchObject({ code: "80300007", msg: "All the tokens are invalid" });
	});

	it("refuses a wrong client secret and an unknown access token", async () => {
		expect((await hmsAccessToken("wrong")).status).toBe(400);
		const res = await hmsSend("CgB6e3x9unknown", ["hms-a"]);
		expect(res.status).toBe(401);
		expect(await res.json()).toMatchObject({ code: "80200003" });
		expect((await stats()).hms).toMatchObject({ auth_failures: 2, token_refreshes: 0 });
	});
});

// ---- Xiaomi --------------------------------------------------------------------------------------

function xiaomiSend(regids: string[], secret = creds.xiaomi.app_secret): Promise<Response> {
	return fetch(`${sim.url}/xiaomi/v3/message/regid`, {
		method: "POST",
		headers: { authorization: `key=${secret}`, "content-type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			registration_id: regids.join(","),
			restricted_package_name: creds.xiaomi.package_name,
			title: "Hi",
			description: "Hello",
			payload: JSON.stringify({ message_id: "m1" }),
			pass_through: "0",
			notify_type: "-1",
			time_to_live: "3600000",
			"extra.channel_id": "messages",
		}),
	});
}

describe("Xiaomi", () => {
	it("answers a batch with bad_regids for the invalid ones and records the form fields", async () => {
		await fault({ channel: "xiaomi", token: "mi-c", kind: "bad_token" });
		const res = await xiaomiSend(["mi-a", "invalid-b", "mi-c"]);
		expect(res.status).toBe(200);
		const body = (await res.json()) as { result: string; code: number; data: { id: string; bad_regids?: string } };
		expect(body).toMatchObject({ result: "ok", code: 0 });
		expect(body.data.id).toBeTruthy();
		expect(body.data.bad_regids?.split(",").sort()).toEqual(["invalid-b", "mi-c"]);
		const d = await firstDelivery("?channel=xiaomi&token=mi-a");
		expect(d.payload).toMatchObject({
			title: "Hi",
			"extra.channel_id": "messages",
			restricted_package_name: "dev.warbler.demo",
		});
		expect(d.headers.authorization).toBe("key [redacted]");
	});

	it("answers a wrong app secret with result error 21301", async () => {
		const res = await xiaomiSend(["mi-a"], "wrong");
		expect(await res.json()).toMatchObject({ result: "error", code: 21301 });
		expect((await stats()).xiaomi.auth_failures).toBe(1);
	});
});

// ---- Web Push ------------------------------------------------------------------------------------

interface Subscription {
	id: string;
	endpoint: string;
	expirationTime: null;
	keys: { p256dh: string; auth: string };
}

async function subscribe(): Promise<Subscription> {
	return (await (await fetch(`${sim.url}/__sim/webpush/subscriptions`, { method: "POST" })).json()) as Subscription;
}

async function vapidKeys() {
	const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
	const publicKey = Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url");
	const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
	return { publicKey, privateKey: jwk.d as string, signingKey: pair.privateKey };
}

/** As Warbler's Worker does it: encryptNotification for the body, a jose-signed VAPID JWT for the origin. */
async function workerStylePush(sub: Subscription, plaintext: string, headers: Record<string, string> = {}): Promise<Response> {
	const vapid = await vapidKeys();
	const body = await encryptNotification(sub, new TextEncoder().encode(plaintext));
	const jwt = await new SignJWT({ sub: "mailto:ops@warbler.dev" })
		.setProtectedHeader({ typ: "JWT", alg: "ES256" })
		.setAudience(new URL(sub.endpoint).origin)
		.setExpirationTime(now() + 12 * 3600)
		.sign(vapid.signingKey);
	return fetch(sub.endpoint, {
		method: "POST",
		headers: {
			authorization: `vapid t=${jwt}, k=${vapid.publicKey}`,
			"content-encoding": "aes128gcm",
			"content-type": "application/octet-stream",
			ttl: "60",
			urgency: "high",
			...headers,
		},
		body,
	});
}

describe("Web Push", () => {
	it("decrypts a body encrypted by @block65/webcrypto-web-push back to the plaintext", async () => {
		const sub = await subscribe();
		expect(sub.endpoint).toBe(`${sim.url}/webpush/${sub.id}`);
		expect(Buffer.from(sub.keys.p256dh, "base64url")).toHaveLength(65);
		expect(Buffer.from(sub.keys.auth, "base64url")).toHaveLength(16);
		const plaintext = JSON.stringify({ title: "Hi", body: "Hello ✓", data: { message_id: "m1" } });
		const res = await workerStylePush(sub, plaintext, { topic: "m1" });
		expect(res.status).toBe(201);
		expect(res.headers.get("location")).toContain("/webpush/messages/");
		const d = await firstDelivery(`?channel=webpush&token=${encodeURIComponent(sub.endpoint)}`);
		expect(d.payload).toBe(plaintext);
		expect(d.outcome).toEqual({ status: 201, ok: true });
		expect(d.headers.authorization).toBe("vapid [redacted]");
	});

	it("accepts buildPushPayload's request (VAPID aud for the https form of the same origin)", async () => {
		const sub = await subscribe();
		const vapid = await vapidKeys();
		const httpsSub = { ...sub, endpoint: sub.endpoint.replace(/^http:/, "https:") };
		const payload = await buildPushPayload({ data: { hello: "world" }, options: { ttl: 120 } }, httpsSub, {
			subject: "https://warbler.dev",
			publicKey: vapid.publicKey,
			privateKey: vapid.privateKey,
		});
		const res = await fetch(sub.endpoint, payload);
		expect(res.status).toBe(201);
		const d = await firstDelivery(`?channel=webpush&token=${sub.id}`);
		expect(d.payload).toBe(JSON.stringify({ hello: "world" }));
	});

	it("requires TTL and VAPID, rejects a foreign key, a too-large body and unknown or expired subscriptions", async () => {
		const sub = await subscribe();
		expect((await workerStylePush(sub, "x", { ttl: "" })).status).toBe(400);
		expect((await workerStylePush(sub, "x", { authorization: "" })).status).toBe(401);
		const other = await vapidKeys();
		const forged = await workerStylePush(sub, "x", {
			authorization: `vapid t=${await new SignJWT({ sub: "mailto:a@b.c" })
				.setProtectedHeader({ alg: "ES256" })
				.setAudience(new URL(sub.endpoint).origin)
				.setExpirationTime(now() + 3600)
				.sign((await vapidKeys()).signingKey)}, k=${other.publicKey}`,
		});
		expect(forged.status).toBe(403);
		expect((await workerStylePush({ ...sub, endpoint: `${sim.url}/webpush/nope` }, "x")).status).toBe(404);
		expect((await fetch(`${sim.url}/__sim/webpush/subscriptions/${sub.id}`, { method: "DELETE" })).status).toBe(204);
		expect((await workerStylePush(sub, "x")).status).toBe(410);
	});

	it("answers 413 for a body over 4096 bytes from an authorized sender", async () => {
		const sub = await subscribe();
		const res = await workerStylePush(sub, "x", {});
		expect(res.status).toBe(201);
		const vapid = await vapidKeys();
		const jwt = await new SignJWT({ sub: "mailto:ops@warbler.dev" })
			.setProtectedHeader({ alg: "ES256" })
			.setAudience(new URL(sub.endpoint).origin)
			.setExpirationTime(now() + 3600)
			.sign(vapid.signingKey);
		const big = await fetch(sub.endpoint, {
			method: "POST",
			headers: { authorization: `vapid t=${jwt}, k=${vapid.publicKey}`, ttl: "60", "content-encoding": "aes128gcm" },
			body: new Uint8Array(4097),
		});
		expect(big.status).toBe(413);
	});
});

// ---- Faults, recording and control --------------------------------------------------------------

describe("faults", () => {
	it("429 applies `times` times with its Retry-After, then sends go through", async () => {
		const created = await fault({ channel: "fcm", kind: "429", times: 2, retry_after: 7 });
		expect(created.status).toBe(201);
		const accessToken = await fcmAccessToken();
		for (let i = 0; i < 2; i++) {
			const res = await fcmSend(accessToken, fcmMessage);
			expect(res.status).toBe(429);
			expect(res.headers.get("retry-after")).toBe("7");
			expect(await res.json()).toMatchObject({
				error: { status: "RESOURCE_EXHAUSTED", details: [{ errorCode: "QUOTA_EXCEEDED" }] },
			});
		}
		expect((await fcmSend(accessToken, fcmMessage)).status).toBe(200);
		const outcomes = (await deliveries("?channel=fcm")).map((d) => d.outcome);
		expect(outcomes).toEqual([
			{ status: 429, ok: false, reason: "QUOTA_EXCEEDED", fault: "429" },
			{ status: 429, ok: false, reason: "QUOTA_EXCEEDED", fault: "429" },
			{ status: 200, ok: true },
		]);
	});

	it("500 applies once by default; 410 only to its token", async () => {
		const jwt = await apnsJwt();
		await fault({ channel: "apns", kind: "500" });
		await fault({ channel: "apns", kind: "410", token: OTHER_DEVICE, times: 2 });
		const first = await apnsSend(jwt, DEVICE, alert);
		expect(first.status).toBe(500);
		expect(await first.json()).toEqual({ reason: "InternalServerError" });
		expect((await apnsSend(jwt, DEVICE, alert)).status).toBe(200);
		for (let i = 0; i < 2; i++) {
			const gone = await apnsSend(jwt, OTHER_DEVICE, alert);
			expect(gone.status).toBe(410);
			expect(await gone.json()).toMatchObject({ reason: "Unregistered" });
		}
		expect((await apnsSend(jwt, OTHER_DEVICE, alert)).status).toBe(200);
		expect(await (await fetch(`${sim.url}/__sim/faults`)).json()).toEqual([]);
	});

	it("times -1 applies until the faults are cleared; slow delays the answer", async () => {
		const sub = await subscribe();
		await fault({ channel: "webpush", kind: "503", times: -1, retry_after: 3 });
		for (let i = 0; i < 3; i++) {
			const res = await workerStylePush(sub, "x");
			expect(res.status).toBe(503);
			expect(res.headers.get("retry-after")).toBe("3");
		}
		expect((await fetch(`${sim.url}/__sim/faults`, { method: "DELETE" })).status).toBe(204);
		expect((await workerStylePush(sub, "x")).status).toBe(201);

		await fault({ channel: "webpush", kind: "slow", delay_ms: 300 });
		const started = Date.now();
		expect((await workerStylePush(sub, "x")).status).toBe(201);
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
	});

	it("HMS: a token-scoped 410 marks that token illegal, a 500 fails the whole batch", async () => {
		const { access_token } = (await (await hmsAccessToken()).json()) as { access_token: string };
		await fault({ channel: "hms", kind: "410", token: "hms-b" });
		const partial = (await (await hmsSend(access_token, ["hms-a", "hms-b"])).json()) as { code: string; msg: string };
		expect(partial.code).toBe("80100000");
		expect(JSON.parse(partial.msg).illegal_tokens).toEqual(["hms-b"]);
		await fault({ channel: "hms", kind: "500" });
		const failed = await hmsSend(access_token, ["hms-a", "hms-b"]);
		expect(failed.status).toBe(500);
		expect((await hmsSend(access_token, ["hms-a", "hms-b"])).status).toBe(200);
	});

	it("rejects an unknown fault kind or channel", async () => {
		expect((await fault({ channel: "apns", kind: "teapot" })).status).toBe(400);
		expect((await fault({ channel: "sms", kind: "500" })).status).toBe(400);
		expect((await fault({ channel: "apns", kind: "500", times: 0 })).status).toBe(400);
	});
});

describe("recording and control", () => {
	it("pause holds vendor requests (control routes still answer) until resume, then they go through", async () => {
		const sub = await subscribe();
		expect((await fetch(`${sim.url}/__sim/pause`, { method: "POST" })).status).toBe(204);
		let answered = false;
		const held = workerStylePush(sub, "x").then((res) => {
			answered = true;
			return res;
		});
		await new Promise((r) => setTimeout(r, 200));
		expect(answered).toBe(false);
		expect((await stats()).webpush.sends).toBe(0);
		expect((await fetch(`${sim.url}/__sim/resume`, { method: "POST" })).status).toBe(204);
		expect((await held).status).toBe(201);
		expect((await stats()).webpush.sends).toBe(1);
		expect((await workerStylePush(sub, "x")).status).toBe(201);
		// A reset resumes too: a run that stopped while paused does not leave the next one hanging.
		await fetch(`${sim.url}/__sim/pause`, { method: "POST" });
		const heldAgain = workerStylePush(sub, "x");
		expect((await fetch(`${sim.url}/__sim/reset`, { method: "POST" })).status).toBe(204);
		expect((await heldAgain).status).toBe(201);
	});

	it("filters, long-polls and clears deliveries; exposes the env for Warbler", async () => {
		const jwt = await apnsJwt();
		const waiting = fetch(`${sim.url}/__sim/deliveries?channel=apns&token=${DEVICE}&wait_ms=5000&count=1`);
		setTimeout(() => void apnsSend(jwt, DEVICE, alert), 100);
		const found = (await (await waiting).json()) as unknown[];
		expect(found).toHaveLength(1);
		await apnsSend(jwt, OTHER_DEVICE, alert);
		expect(await deliveries("?channel=apns")).toHaveLength(2);
		expect(await deliveries(`?token=${OTHER_DEVICE}`)).toHaveLength(1);
		expect(await deliveries("?channel=fcm")).toHaveLength(0);
		expect((await fetch(`${sim.url}/__sim/deliveries`, { method: "DELETE" })).status).toBe(204);
		expect(await deliveries()).toEqual([]);

		expect(simulatorEnv(sim.url)).toEqual({
			APNS_ENDPOINT: sim.url,
			FCM_ENDPOINT: sim.url,
			FCM_TOKEN_URL: `${sim.url}/fcm/token`,
			HMS_ENDPOINT: `${sim.url}/hms`,
			HMS_TOKEN_URL: `${sim.url}/hms/oauth2/v3/token`,
			XIAOMI_ENDPOINT: `${sim.url}/xiaomi`,
			OPPO_ENDPOINT: `${sim.url}/oppo`,
			OPPO_INTL_ENDPOINT: `${sim.url}/oppo-intl`,
			VIVO_ENDPOINT: `${sim.url}/vivo`,
			HONOR_ENDPOINT: `${sim.url}/honor`,
			HONOR_TOKEN_URL: `${sim.url}/honor/auth/realms/developer/protocol/openid-connect/token`,
			MEIZU_ENDPOINT: `${sim.url}/meizu`,
		});
		expect(creds.fcm.service_account.token_uri).toBe(`${sim.url}/fcm/token`);
		expect(Object.keys(creds.apns).sort()).toEqual(["bundle_id", "environment", "key_id", "private_key", "team_id"]);
	});
});
