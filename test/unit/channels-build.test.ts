/**
 * Vendor channels, pure parts: payload builders against each vendor's documented fields, size
 * limits, the passthrough merge, silent pushes, priority/TTL/collapse mapping; credential schemas,
 * masks, token minting, Web Push endpoint checks, and the vendor-answer classifiers.
 */
import { decodeJwt, decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { apnsChannel, apnsCollapseId, classifyApns, mintApnsToken } from "../../core/channels/apns/index.js";
import { ChannelAuthError, deepMerge, isPermanentAuthError, retryAfterSeconds } from "../../core/channels/common.js";
import { DEFAULT_ENDPOINTS, DEFAULT_WEBPUSH_HOSTS, vendorEndpoints } from "../../core/channels/endpoints.js";
import { classifyFcm, fcmAssertion, fcmChannel, mintFcmToken } from "../../core/channels/fcm/index.js";
import { hmsChannel, illegalTokens, mintHmsToken } from "../../core/channels/hms/index.js";
import { channelFor, channels, isVendorChannelId, vendorChannelIds } from "../../core/channels/registry.js";
import type { PushOptions, VendorEndpoints } from "../../core/channels/types.js";
import {
	checkWebPushEndpoint,
	classifyWebPush,
	completeWebPushCredentials,
	isVapidPair,
	webPushChannel,
	webPushTopic,
} from "../../core/channels/webpush/index.js";
import { xiaomiChannel } from "../../core/channels/xiaomi/index.js";
import type { MessageContent } from "../../protocol/message.js";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

function opts(over: Partial<PushOptions> = {}): PushOptions {
	return { messageId: "msg_1", priority: "high", expiresAt: NOW + 3600_000, silent: false, now: NOW, ...over };
}

const text: MessageContent = {
	type: "text",
	title: "Hello",
	body: "World — ünïcödé",
	url: "https://example.com/m/1",
	data: { order: 42, kind: "ship", nested: { a: 1 } },
};
const image: MessageContent = {
	type: "image",
	title: "Pic",
	body: "look",
	media: { url: "https://cdn.example.com/p.jpg", mime: "image/jpeg" },
};

let es256Pem: string;
let es384Pem: string;
let rsaPem: string;
let apnsCreds: { team_id: string; key_id: string; private_key: string; bundle_id: string; environment: "sandbox" | "production" };
let fcmCreds: {
	service_account: { project_id: string; client_email: string; private_key: string; private_key_id?: string; token_uri?: string };
};
const hmsCreds = { app_id: "104123456", client_id: "104123456", client_secret: "s3cr3t-hms-client-secret" };
const xiaomiCreds = { app_secret: "xiaomi-app-secret==", package_name: "com.example.app" };
const wpCreds = { subject: "mailto:ops@example.com" };
let apnsPublic: CryptoKey;
let rsaPublicPem: string;

beforeAll(async () => {
	const ec = await generateKeyPair("ES256", { extractable: true });
	es256Pem = await exportPKCS8(ec.privateKey);
	apnsPublic = ec.publicKey as CryptoKey;
	es384Pem = await exportPKCS8((await generateKeyPair("ES384", { extractable: true })).privateKey);
	const rsa = await generateKeyPair("RS256", { extractable: true });
	rsaPem = await exportPKCS8(rsa.privateKey);
	rsaPublicPem = await exportSPKI(rsa.publicKey);
	apnsCreds = {
		team_id: "ABCDE12345",
		key_id: "KEY1234567",
		private_key: es256Pem,
		bundle_id: "com.example.app",
		environment: "sandbox",
	};
	fcmCreds = {
		service_account: {
			project_id: "my-app-12345",
			client_email: "firebase-adminsdk@my-app-12345.iam.gserviceaccount.com",
			private_key: rsaPem,
			private_key_id: "kid-1",
		},
	};
});

describe("registry and endpoints", () => {
	it("maps every vendor id to its channel", () => {
		expect(vendorChannelIds.sort()).toEqual(["apns", "fcm", "hms", "honor", "meizu", "oppo", "vivo", "webpush", "xiaomi"]);
		for (const id of vendorChannelIds) {
			expect(channels[id].id).toBe(id);
			expect(channelFor(id)).toBe(channels[id]);
		}
		expect(channelFor("toString")).toBeUndefined();
		expect(isVendorChannelId("__proto__")).toBe(false);
		expect(channels.hms.maxBatch).toBe(1000);
		expect(channels.xiaomi.maxBatch).toBe(1000);
		expect(channels.webpush.maxPayloadBytes).toBe(3993);
		for (const id of ["apns", "fcm", "hms", "xiaomi"] as const) expect(channels[id].maxPayloadBytes).toBe(4096);
		// Minting only where the vendor needs an access credential.
		expect(typeof channels.apns.mintAccessToken).toBe("function");
		expect(typeof channels.fcm.mintAccessToken).toBe("function");
		expect(typeof channels.hms.mintAccessToken).toBe("function");
		expect(channels.xiaomi.mintAccessToken).toBeUndefined();
		expect(channels.webpush.mintAccessToken).toBeUndefined();
	});

	it("defaults to the real vendors and allows local Web Push only in local/test", () => {
		const e = vendorEndpoints({ WARBLER_ENV: "production" });
		expect(e).toEqual({
			apns: { production: "https://api.push.apple.com", sandbox: "https://api.sandbox.push.apple.com" },
			fcm: { send: "https://fcm.googleapis.com" },
			hms: { send: "https://push-api.cloud.huawei.com", tokenUrl: "https://oauth-login.cloud.huawei.com/oauth2/v3/token" },
			xiaomi: { send: "https://api.xmpush.xiaomi.com" },
			oppo: { send: "https://api.push.oppomobile.com", intl: "https://api-intl.push.oppomobile.com" },
			vivo: { send: "https://api-push.vivo.com.cn" },
			honor: {
				send: "https://push-api.cloud.hihonor.com",
				tokenUrl: "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token",
			},
			meizu: { send: "https://api-push.meizu.com" },
			allowLocalWebPush: false,
			webPushHosts: [...DEFAULT_WEBPUSH_HOSTS],
		});
		expect(vendorEndpoints({ WARBLER_ENV: "local" }).allowLocalWebPush).toBe(true);
		expect(vendorEndpoints({ WARBLER_ENV: "test" }).allowLocalWebPush).toBe(true);
	});

	it("reads the deployment variables, one APNs endpoint for both environments", () => {
		const sim = "http://127.0.0.1:9000";
		const e = vendorEndpoints({
			WARBLER_ENV: "test",
			APNS_ENDPOINT: `${sim}/`,
			FCM_ENDPOINT: sim,
			FCM_TOKEN_URL: `${sim}/fcm/token`,
			HMS_ENDPOINT: `${sim}/hms`,
			HMS_TOKEN_URL: `${sim}/hms/oauth2/v3/token`,
			XIAOMI_ENDPOINT: `${sim}/xiaomi`,
		} as { WARBLER_ENV: string });
		expect(e.apns).toEqual({ production: sim, sandbox: sim });
		expect(e.fcm).toEqual({ send: sim, tokenUrl: `${sim}/fcm/token` });
		expect(e.hms).toEqual({ send: `${sim}/hms`, tokenUrl: `${sim}/hms/oauth2/v3/token` });
		expect(e.xiaomi.send).toBe(`${sim}/xiaomi`);
	});
});

describe("APNs payload", () => {
	it("renders alert, sound, badge, thread-id, custom data and the apns-* headers", () => {
		const p = apnsChannel.build(text, opts({ badge: 3, group: "chat-7", collapseKey: "conv-7" }), apnsCreds);
		expect(p.body).toEqual({
			order: 42,
			kind: "ship",
			nested: { a: 1 },
			message_id: "msg_1",
			url: "https://example.com/m/1",
			aps: { alert: { title: "Hello", body: "World — ünïcödé" }, sound: "default", badge: 3, "thread-id": "chat-7" },
		});
		expect(p.headers).toEqual({
			"apns-topic": "com.example.app",
			"apns-push-type": "alert",
			"apns-priority": "10",
			"apns-expiration": String((NOW + 3600_000) / 1000),
			"apns-collapse-id": "conv-7",
		});
		expect(p.size).toBe(bytes(JSON.stringify(p.body)));
	});

	it("normal priority is 5; an image sets mutable-content and the image key", () => {
		const p = apnsChannel.build(image, opts({ priority: "normal", sound: "ping.caf" }), apnsCreds);
		expect(p.headers["apns-priority"]).toBe("5");
		expect(p.body.aps).toEqual({ alert: { title: "Pic", body: "look" }, sound: "ping.caf", "mutable-content": 1 });
		expect(p.body.image).toBe("https://cdn.example.com/p.jpg");
	});

	it("a video's thumbnail is the picture", () => {
		const video: MessageContent = {
			type: "video",
			body: "clip",
			media: { url: "https://v/x.mp4", thumbnail_url: "https://v/x.jpg" },
		};
		expect(apnsChannel.build(video, opts(), apnsCreds).body.image).toBe("https://v/x.jpg");
	});

	it("silent is a background push: content-available, priority 5, no alert or sound", () => {
		const p = apnsChannel.build(text, opts({ silent: true, badge: 1 }), apnsCreds);
		expect(p.body.aps).toEqual({ "content-available": 1 });
		expect(p.headers["apns-push-type"]).toBe("background");
		expect(p.headers["apns-priority"]).toBe("5");
		expect(p.body.message_id).toBe("msg_1");
	});

	it("content.apns is deep-merged; null removes; app data cannot replace aps or message_id", () => {
		const content = {
			...text,
			data: { aps: "nope", message_id: "spoof", x: 1 },
			apns: { aps: { category: "REPLY", sound: null, "interruption-level": "time-sensitive" }, extra: { k: [1, 2] } },
		};
		const p = apnsChannel.build(content, opts(), apnsCreds);
		expect(p.body.aps).toEqual({
			alert: { title: "Hello", body: "World — ünïcödé" },
			category: "REPLY",
			"interruption-level": "time-sensitive",
		});
		expect(p.body.extra).toEqual({ k: [1, 2] });
		expect(p.body.message_id).toBe("msg_1");
		expect(p.body.x).toBe(1);
		expect(p.size).toBe(bytes(JSON.stringify(p.body)));
	});

	it("collapse ids over 64 bytes become a stable short hash", () => {
		const long = "k".repeat(100);
		expect(apnsCollapseId(long)).toBe(apnsCollapseId(long));
		expect(bytes(apnsCollapseId(long))).toBeLessThanOrEqual(64);
		expect(apnsCollapseId("short")).toBe("short");
	});

	it("expired messages get apns-expiration in the past, never negative", () => {
		expect(apnsChannel.build(text, opts({ expiresAt: 0 }), apnsCreds).headers["apns-expiration"]).toBe("0");
	});
});

describe("FCM payload", () => {
	it("renders notification, string data, android and apns blocks, without a token", () => {
		const p = fcmChannel.build(image, opts({ collapseKey: "c1", badge: 2, group: "g" }), fcmCreds);
		const m = (p.body as { message: Record<string, unknown> }).message;
		expect(m.token).toBeUndefined();
		expect(m.notification).toEqual({ title: "Pic", body: "look", image: "https://cdn.example.com/p.jpg" });
		expect(m.data).toEqual({ message_id: "msg_1" });
		expect(m.android).toEqual({
			priority: "HIGH",
			ttl: "3600s",
			collapse_key: "c1",
			notification: { sound: "default", tag: "c1", notification_count: 2 },
		});
		expect(m.apns).toEqual({
			headers: {
				"apns-push-type": "alert",
				"apns-priority": "10",
				"apns-expiration": String((NOW + 3600_000) / 1000),
				"apns-collapse-id": "c1",
			},
			payload: { aps: { sound: "default", badge: 2, "thread-id": "g", "mutable-content": 1 } },
			fcm_options: { image: "https://cdn.example.com/p.jpg" },
		});
		// The limit counts the message without its token.
		expect(p.size).toBe(bytes(JSON.stringify(m)));
	});

	it("data values become strings (FCM data is map<string,string>)", () => {
		const m = (fcmChannel.build(text, opts(), fcmCreds).body as { message: { data: Record<string, string> } }).message;
		expect(m.data).toEqual({ order: "42", kind: "ship", nested: '{"a":1}', message_id: "msg_1", url: "https://example.com/m/1" });
	});

	it("silent is data-only; normal priority and TTL map to android", () => {
		const m = (
			fcmChannel.build(text, opts({ silent: true, priority: "normal", expiresAt: NOW + 90_500 }), fcmCreds).body as {
				message: Record<string, unknown>;
			}
		).message;
		expect(m.notification).toBeUndefined();
		expect(m.android).toEqual({ priority: "NORMAL", ttl: "90s" });
		expect((m.apns as { payload: unknown }).payload).toEqual({ aps: { "content-available": 1 } });
		expect((m.apns as { headers: Record<string, string> }).headers["apns-push-type"]).toBe("background");
	});

	it("content.fcm is deep-merged into message", () => {
		const content = {
			...text,
			fcm: { android: { notification: { channel_id: "news", sound: null } }, fcm_options: { analytics_label: "l" } },
		};
		const m = (fcmChannel.build(content, opts(), fcmCreds).body as { message: Record<string, unknown> }).message;
		expect(m.android).toMatchObject({ priority: "HIGH", notification: { channel_id: "news" } });
		expect((m.android as { notification: Record<string, unknown> }).notification.sound).toBeUndefined();
		expect(m.fcm_options).toEqual({ analytics_label: "l" });
	});
});

describe("HMS payload", () => {
	it("renders data as a JSON string and android.notification with click_action", () => {
		const p = hmsChannel.build(image, opts({ collapseKey: "c1", group: "g", priority: "normal" }), hmsCreds);
		const body = p.body as { validate_only: boolean; message: Record<string, unknown> };
		expect(body.validate_only).toBe(false);
		expect(body.message.token).toBeUndefined();
		expect(JSON.parse(body.message.data as string)).toEqual({ message_id: "msg_1" });
		expect(body.message.android).toEqual({
			urgency: "NORMAL",
			ttl: "3600s",
			notification: {
				click_action: { type: 3 },
				title: "Pic",
				body: "look",
				image: "https://cdn.example.com/p.jpg",
				default_sound: true,
				tag: "c1",
				group: "g",
			},
		});
		expect(p.size).toBe(bytes(JSON.stringify(body.message)));
	});

	it("silent is a data message with HIGH urgency; custom sound replaces default_sound", () => {
		const silent = (hmsChannel.build(text, opts({ silent: true }), hmsCreds).body as { message: Record<string, unknown> })
			.message;
		expect(silent.android).toEqual({ urgency: "HIGH", ttl: "3600s" });
		expect(JSON.parse(silent.data as string)).toEqual({
			order: 42,
			kind: "ship",
			nested: { a: 1 },
			message_id: "msg_1",
			url: "https://example.com/m/1",
		});
		const sound = (
			hmsChannel.build(text, opts({ sound: "/raw/ding" }), hmsCreds).body as {
				message: { android: { notification: Record<string, unknown> } };
			}
		).message;
		expect(sound.android.notification.sound).toBe("/raw/ding");
		expect(sound.android.notification.default_sound).toBeUndefined();
	});

	it("content.hms is deep-merged into message", () => {
		const content = { ...text, hms: { android: { category: "IM", notification: { importance: "NORMAL" } } } };
		const m = (hmsChannel.build(content, opts(), hmsCreds).body as { message: { android: Record<string, unknown> } }).message;
		expect(m.android.category).toBe("IM");
		expect(m.android.notification).toMatchObject({ importance: "NORMAL", click_action: { type: 3 }, title: "Hello" });
	});
});

describe("vendors that need both title and body (HMS, Xiaomi)", () => {
	it("fall back to the other text, then to a label for the content type", () => {
		const hms = (c: MessageContent) =>
			(hmsChannel.build(c, opts(), hmsCreds).body as { message: { android: { notification: { title: string; body: string } } } })
				.message.android.notification;
		const mi = (c: MessageContent) => xiaomiChannel.build(c, opts(), xiaomiCreds).body as Record<string, string>;
		expect(hms({ type: "text", body: "only body" })).toMatchObject({ title: "only body", body: "only body" });
		expect(hms({ type: "image", media: { url: "https://x/y.png" } })).toMatchObject({ title: "Image", body: "Image" });
		expect(mi({ type: "text", title: "only title" })).toMatchObject({ title: "only title", description: "only title" });
		expect(mi({ type: "custom" })).toMatchObject({ title: "New message", description: "New message" });
	});
});

describe("Xiaomi payload", () => {
	it("renders the documented form fields without registration_id", () => {
		const p = xiaomiChannel.build(image, opts({ collapseKey: "c1" }), xiaomiCreds);
		const f = p.body as Record<string, string>;
		expect(f.registration_id).toBeUndefined();
		expect(f).toMatchObject({
			restricted_package_name: "com.example.app",
			pass_through: "0",
			title: "Pic",
			description: "look",
			notify_type: "-1",
			time_to_live: "3600000",
			"extra.notify_effect": "1",
			"extra.notification_style_type": "2",
			"extra.notification_bigPic_uri": "https://cdn.example.com/p.jpg",
		});
		expect(JSON.parse(f.payload as string)).toEqual({ message_id: "msg_1" });
		expect(Object.values(f).every((v) => typeof v === "string")).toBe(true);
		expect(p.size).toBe(bytes(f.title ?? "") + bytes(f.description ?? "") + bytes(f.payload ?? ""));
	});

	it("notify_id comes from the collapse key (replaces) or the message id (stacks)", () => {
		const a = xiaomiChannel.build(text, opts({ messageId: "m1", collapseKey: "k" }), xiaomiCreds).body as Record<string, string>;
		const b = xiaomiChannel.build(text, opts({ messageId: "m2", collapseKey: "k" }), xiaomiCreds).body as Record<string, string>;
		const c = xiaomiChannel.build(text, opts({ messageId: "m3" }), xiaomiCreds).body as Record<string, string>;
		expect(a.notify_id).toBe(b.notify_id);
		expect(c.notify_id).not.toBe(a.notify_id);
		expect(Number(a.notify_id)).toBeGreaterThanOrEqual(0);
		expect(Number(a.notify_id)).toBeLessThanOrEqual(2_147_483_647);
	});

	it("silent is pass-through without title/description; long texts are cut to Xiaomi's limits", () => {
		const s = xiaomiChannel.build(text, opts({ silent: true }), xiaomiCreds).body as Record<string, string>;
		expect(s.pass_through).toBe("1");
		expect(s.title).toBeUndefined();
		expect(s.description).toBeUndefined();
		const long = xiaomiChannel.build({ type: "text", title: "標".repeat(80), body: "b".repeat(300) }, opts(), xiaomiCreds)
			.body as Record<string, string>;
		expect(Array.from(long.title ?? "").length).toBe(49);
		expect(long.title?.endsWith("…")).toBe(true);
		expect(Array.from(long.description ?? "").length).toBe(127);
	});

	it("content.xiaomi fields merge flat or under extra, as strings; null removes", () => {
		const content = {
			...text,
			xiaomi: { "extra.channel_id": "high", extra: { notify_foreground: 0 }, notify_type: 2, pass_through: null },
		};
		const f = xiaomiChannel.build(content, opts(), xiaomiCreds).body as Record<string, string>;
		expect(f["extra.channel_id"]).toBe("high");
		expect(f["extra.notify_foreground"]).toBe("0");
		expect(f.notify_type).toBe("2");
		expect(f.pass_through).toBeUndefined();
	});
});

describe("Web Push payload", () => {
	it("renders the plaintext JSON and TTL/Urgency/Topic headers", () => {
		const p = webPushChannel.build(text, opts({ collapseKey: "conv-7", badge: 4, priority: "normal" }), wpCreds);
		expect(p.body).toEqual({
			message_id: "msg_1",
			type: "text",
			title: "Hello",
			body: "World — ünïcödé",
			url: "https://example.com/m/1",
			tag: "conv-7",
			badge: 4,
			data: { order: 42, kind: "ship", nested: { a: 1 } },
		});
		expect(p.headers).toEqual({ TTL: "3600", Urgency: "normal", Topic: "conv-7" });
		expect(p.size).toBe(bytes(JSON.stringify(p.body)));
	});

	it("high priority → Urgency high; silent flag; passthrough merged; topic made valid", () => {
		const content = { ...image, webpush: { actions: [{ action: "open", title: "Open" }], requireInteraction: true } };
		const p = webPushChannel.build(
			content,
			opts({ silent: true, collapseKey: "not a valid topic: way too long for the header" }),
			wpCreds,
		);
		expect(p.headers.Urgency).toBe("high");
		expect(p.body).toMatchObject({
			silent: true,
			image: "https://cdn.example.com/p.jpg",
			requireInteraction: true,
			actions: [{ action: "open", title: "Open" }],
		});
		expect(p.headers.Topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
		expect(p.headers.Topic).toBe(webPushTopic("not a valid topic: way too long for the header"));
	});
});

describe("payload size limits", () => {
	const all = [
		["apns", apnsChannel, () => apnsCreds],
		["fcm", fcmChannel, () => fcmCreds],
		["hms", hmsChannel, () => hmsCreds],
		["xiaomi", xiaomiChannel, () => xiaomiCreds],
		["webpush", webPushChannel, () => ({ subject: "mailto:a@b.c" })],
	] as const;

	it.each(all)("%s: a normal message fits, 5,000 bytes of data do not", (_id, channel, creds) => {
		expect(channel.build(text, opts(), creds() as never).size).toBeLessThan(channel.maxPayloadBytes);
		const big = { ...text, data: { blob: "x".repeat(5000) } };
		expect(channel.build(big, opts(), creds() as never).size).toBeGreaterThan(channel.maxPayloadBytes);
	});

	it.each(all.filter(([id]) => id !== "xiaomi"))("%s: a 5,000-byte body does not fit", (_id, channel, creds) => {
		const big = { ...text, body: "x".repeat(5000) };
		expect(channel.build(big, opts(), creds() as never).size).toBeGreaterThan(channel.maxPayloadBytes);
	});

	it.each(all)("%s: multi-byte text counts in bytes, not characters", (_id, channel, creds) => {
		const ascii = channel.build({ type: "text", title: "t", body: "a".repeat(100) }, opts(), creds() as never).size;
		const cjk = channel.build({ type: "text", title: "t", body: "語".repeat(100) }, opts(), creds() as never).size;
		expect(cjk - ascii).toBe(200);
	});

	it("Web Push counts plaintext against 3,993 bytes (4,096 minus aes128gcm overhead)", () => {
		const base = webPushChannel.build({ type: "text", body: "" }, opts(), wpCreds).size;
		const fits = webPushChannel.build({ type: "text", body: "a".repeat(3993 - base - 10) }, opts(), wpCreds);
		expect(fits.size).toBeLessThanOrEqual(3993);
		const over = webPushChannel.build({ type: "text", body: "a".repeat(3994 - base) }, opts(), wpCreds);
		expect(over.size).toBeGreaterThan(3993);
	});

	it("Xiaomi counts only title + description + payload", () => {
		const p = xiaomiChannel.build({ type: "text", title: "t", body: "d", data: { k: "v".repeat(4100) } }, opts(), xiaomiCreds);
		const f = p.body as Record<string, string>;
		expect(p.size).toBe(2 + bytes(f.payload ?? ""));
		expect(p.size).toBeGreaterThan(4096);
	});
});

describe("credential schemas and masks", () => {
	it("APNs: accepts a P-256 .p8, refuses P-384, RSA and malformed ids", async () => {
		expect((await apnsChannel.credentialSchema.safeParseAsync(apnsCreds)).success).toBe(true);
		for (const private_key of [es384Pem, rsaPem, "not a pem"]) {
			const r = await apnsChannel.credentialSchema.safeParseAsync({ ...apnsCreds, private_key });
			expect(r.success).toBe(false);
			expect(JSON.stringify(r.error)).not.toContain("PRIVATE KEY");
		}
		expect((await apnsChannel.credentialSchema.safeParseAsync({ ...apnsCreds, team_id: "abc" })).success).toBe(false);
		expect((await apnsChannel.credentialSchema.safeParseAsync({ ...apnsCreds, environment: "dev" })).success).toBe(false);
	});

	it("APNs: a PEM pasted with escaped newlines is accepted", async () => {
		const escaped = es256Pem.replace(/\n/g, "\\n");
		expect((await apnsChannel.credentialSchema.safeParseAsync({ ...apnsCreds, private_key: escaped })).success).toBe(true);
	});

	it("FCM: accepts the service account JSON (extra keys dropped), refuses EC keys and http token_uri off loopback", async () => {
		const r = await fcmChannel.credentialSchema.safeParseAsync({
			service_account: { ...fcmCreds.service_account, type: "service_account", client_id: "123", auth_uri: "https://x" },
		});
		expect(r.success).toBe(true);
		expect(Object.keys((r.data as typeof fcmCreds).service_account).sort()).toEqual([
			"client_email",
			"private_key",
			"private_key_id",
			"project_id",
		]);
		const ec = { service_account: { ...fcmCreds.service_account, private_key: es256Pem } };
		expect((await fcmChannel.credentialSchema.safeParseAsync(ec)).success).toBe(false);
		const http = { service_account: { ...fcmCreds.service_account, token_uri: "http://oauth2.example.com/token" } };
		expect((await fcmChannel.credentialSchema.safeParseAsync(http)).success).toBe(false);
		const local = { service_account: { ...fcmCreds.service_account, token_uri: "http://127.0.0.1:9000/fcm/token" } };
		expect((await fcmChannel.credentialSchema.safeParseAsync(local)).success).toBe(true);
	});

	it("HMS and Xiaomi: required fields", async () => {
		expect((await hmsChannel.credentialSchema.safeParseAsync(hmsCreds)).success).toBe(true);
		expect((await hmsChannel.credentialSchema.safeParseAsync({ ...hmsCreds, client_secret: "" })).success).toBe(false);
		expect((await xiaomiChannel.credentialSchema.safeParseAsync(xiaomiCreds)).success).toBe(true);
		expect((await xiaomiChannel.credentialSchema.safeParseAsync({ ...xiaomiCreds, package_name: "nope" })).success).toBe(false);
	});

	it("Web Push: subject mailto/https, both keys or neither, a matching pair", async () => {
		const schema = webPushChannel.credentialSchema;
		expect((await schema.safeParseAsync({ subject: "mailto:ops@example.com" })).success).toBe(true);
		expect((await schema.safeParseAsync({ subject: "https://example.com" })).success).toBe(true);
		expect((await schema.safeParseAsync({ subject: "http://example.com" })).success).toBe(false);
		const a = await completeWebPushCredentials({ subject: "mailto:ops@example.com" });
		const b = await completeWebPushCredentials({ subject: "mailto:ops@example.com" });
		expect((await schema.safeParseAsync(a)).success).toBe(true);
		expect((await schema.safeParseAsync({ subject: a.subject, public_key: a.public_key })).success).toBe(false);
		expect((await schema.safeParseAsync({ ...a, private_key: b.private_key })).success).toBe(false);
		expect((await schema.safeParseAsync({ ...a, public_key: "AAAA" })).success).toBe(false);
	});

	it("completeWebPushCredentials makes a P-256 VAPID pair, and keeps a given one", async () => {
		const c = await completeWebPushCredentials({ subject: "mailto:ops@example.com" });
		const point = Buffer.from(c.public_key, "base64url");
		expect(point.byteLength).toBe(65);
		expect(point[0]).toBe(0x04);
		expect(Buffer.from(c.private_key, "base64url").byteLength).toBe(32);
		expect(c.public_key).not.toMatch(/[+/=]/);
		expect(await isVapidPair(c.public_key, c.private_key)).toBe(true);
		expect(await completeWebPushCredentials(c)).toEqual(c);
		expect(webPushChannel.completeCredentials).toBe(completeWebPushCredentials);
	});

	it("masks show ids and fingerprints, never a secret", async () => {
		const wp = await completeWebPushCredentials({ subject: "mailto:ops@example.com" });
		const masks = [
			[await apnsChannel.mask(apnsCreds), es256Pem],
			[await fcmChannel.mask(fcmCreds), rsaPem],
			[await hmsChannel.mask(hmsCreds), hmsCreds.client_secret],
			[await xiaomiChannel.mask(xiaomiCreds), xiaomiCreds.app_secret],
			[await webPushChannel.mask(wp), wp.private_key],
		] as const;
		for (const [mask, secret] of masks) {
			const shown = JSON.stringify(mask);
			expect(shown).not.toContain(secret);
			expect(shown).not.toContain("PRIVATE KEY");
			expect(shown).toMatch(/sha256:[0-9a-f]{16}/);
		}
		expect(masks[0][0]).toMatchObject({
			team_id: "ABCDE12345",
			key_id: "KEY1234567",
			bundle_id: "com.example.app",
			environment: "sandbox",
		});
		expect(masks[4][0].public_key).toBe(wp.public_key);
	});
});

describe("token minting", () => {
	const endpoints: VendorEndpoints = {
		apns: { production: "https://a", sandbox: "https://s" },
		fcm: { send: "https://fcm.example" },
		hms: { send: "https://hms.example", tokenUrl: "https://hms.example/oauth2/v3/token" },
		xiaomi: { send: "https://x.example" },
		oppo: { send: "https://oppo.example", intl: "https://oppo-intl.example" },
		vivo: { send: "https://vivo.example" },
		honor: { send: "https://honor.example", tokenUrl: "https://honor.example/token" },
		meizu: { send: "https://meizu.example" },
		allowLocalWebPush: false,
	};

	it("APNs: ES256 JWT with kid, iss = team, iat; used for 50 minutes", async () => {
		const minted = await mintApnsToken(apnsCreds, NOW);
		expect(decodeProtectedHeader(minted.token)).toEqual({ alg: "ES256", kid: "KEY1234567" });
		const { payload } = await jwtVerify(minted.token, apnsPublic, { currentDate: new Date(NOW) });
		expect(payload).toEqual({ iss: "ABCDE12345", iat: NOW / 1000 });
		expect(minted.expiresAt).toBe(NOW + 50 * 60_000);
	});

	it("FCM: RS256 assertion with scope, aud = token_uri, exp = iat + 3600", async () => {
		const jwt = await fcmAssertion(fcmCreds, NOW);
		expect(decodeProtectedHeader(jwt)).toEqual({ alg: "RS256", typ: "JWT", kid: "kid-1" });
		const { payload } = await jwtVerify(jwt, await importSPKI(rsaPublicPem, "RS256"), { currentDate: new Date(NOW) });
		expect(payload).toEqual({
			iss: fcmCreds.service_account.client_email,
			scope: "https://www.googleapis.com/auth/firebase.messaging",
			aud: DEFAULT_ENDPOINTS.googleTokenUri,
			iat: NOW / 1000,
			exp: NOW / 1000 + 3600,
		});
		const custom = await fcmAssertion(
			{ service_account: { ...fcmCreds.service_account, token_uri: "https://sim/fcm/token" } },
			NOW,
		);
		expect(decodeJwt(custom).aud).toBe("https://sim/fcm/token");
	});

	it("FCM: a token endpoint never takes the request elsewhere or reads back its body; the tenant's token_uri is never fetched", async () => {
		const urls: string[] = [];
		const redirects: (RequestRedirect | undefined)[] = [];
		const answer = (res: () => Response) =>
			(async (url: string, init: RequestInit) => {
				urls.push(url);
				redirects.push(init.redirect);
				return res();
			}) as unknown as typeof fetch;
		const elsewhere = { service_account: { ...fcmCreds.service_account, token_uri: "https://10.0.0.7/token" } };
		await mintFcmToken(
			elsewhere,
			endpoints,
			answer(() => Response.json({ access_token: "ya29.x", expires_in: 60 })),
		);
		expect(urls).toEqual([DEFAULT_ENDPOINTS.googleTokenUri]);
		expect(redirects).toEqual(["manual"]);
		const moved = await mintFcmToken(
			fcmCreds,
			endpoints,
			answer(() => new Response(null, { status: 302, headers: { location: "http://169.254.169.254/" } })),
		).catch((e) => e);
		expect(moved).toBeInstanceOf(ChannelAuthError);
		expect(moved.message).toContain("302");
		expect(moved.message).not.toContain("169.254");
		const chatty = await mintFcmToken(
			fcmCreds,
			endpoints,
			answer(() => Response.json({ error: "root:x:0:0 internal banner" }, { status: 400 })),
		).catch((e) => e);
		expect(chatty.message).toContain("400");
		expect(chatty.message).not.toContain("root:x");
		const standard = await mintFcmToken(
			fcmCreds,
			endpoints,
			answer(() => Response.json({ error: "invalid_grant" }, { status: 400 })),
		).catch((e) => e);
		expect(standard.message).toContain("invalid_grant");
		const down = await mintFcmToken(fcmCreds, endpoints, (async () => {
			throw new TypeError("connect ECONNREFUSED 10.0.0.7:22");
		}) as unknown as typeof fetch).catch((e) => e);
		expect(down.message).not.toContain("ECONNREFUSED");
	});

	it("FCM: exchanges the assertion (jwt-bearer) at endpoints.fcm.tokenUrl, else Google's", async () => {
		const seen: { url: string; form: URLSearchParams }[] = [];
		const fetchFn = (async (url: string, init: RequestInit) => {
			seen.push({ url, form: new URLSearchParams(init.body as string) });
			return Response.json({ access_token: "ya29.x", expires_in: 3599, token_type: "Bearer" });
		}) as unknown as typeof fetch;
		const before = Date.now();
		const t = await mintFcmToken(fcmCreds, endpoints, fetchFn);
		expect(t.token).toBe("ya29.x");
		expect(t.expiresAt).toBeGreaterThanOrEqual(before + 3599_000);
		expect(seen[0]?.url).toBe(DEFAULT_ENDPOINTS.googleTokenUri);
		expect(seen[0]?.form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
		expect(decodeJwt(seen[0]?.form.get("assertion") ?? "").iss).toBe(fcmCreds.service_account.client_email);
		await mintFcmToken(fcmCreds, { ...endpoints, fcm: { send: "x", tokenUrl: "https://override/token" } }, fetchFn);
		expect(seen[1]?.url).toBe("https://override/token");
	});

	it("HMS: client credentials at endpoints.hms.tokenUrl", async () => {
		let form: URLSearchParams | undefined;
		let url = "";
		const fetchFn = (async (u: string, init: RequestInit) => {
			url = u;
			form = new URLSearchParams(init.body as string);
			return Response.json({ access_token: "hms-at", expires_in: 3600, token_type: "Bearer" });
		}) as unknown as typeof fetch;
		expect((await mintHmsToken(hmsCreds, endpoints, fetchFn)).token).toBe("hms-at");
		expect(url).toBe(endpoints.hms.tokenUrl);
		expect(Object.fromEntries(form ?? [])).toEqual({
			grant_type: "client_credentials",
			client_id: "104123456",
			client_secret: hmsCreds.client_secret,
		});
	});

	it("refused credentials are permanent, an unavailable endpoint is not; no secret in the message", async () => {
		const answer = (status: number, body: unknown) => (async () => Response.json(body, { status })) as unknown as typeof fetch;
		const refused = await mintHmsToken(hmsCreds, endpoints, answer(401, { error: 1102, error_description: "bad secret" })).catch(
			(e) => e,
		);
		expect(refused).toBeInstanceOf(ChannelAuthError);
		expect(isPermanentAuthError(refused)).toBe(true);
		expect(isPermanentAuthError({ message: String(refused.message) })).toBe(true);
		expect(refused.message).not.toContain(hmsCreds.client_secret);
		const busy = await mintFcmToken(fcmCreds, endpoints, answer(503, {})).catch((e) => e);
		expect(isPermanentAuthError(busy)).toBe(false);
		const down = await mintFcmToken(fcmCreds, endpoints, (async () => {
			throw new TypeError("fetch failed");
		}) as unknown as typeof fetch).catch((e) => e);
		expect(isPermanentAuthError(down)).toBe(false);
	});
});

describe("Web Push endpoints", () => {
	it.each([
		["https://fcm.googleapis.com/fcm/send/abc", false, null],
		["https://web.push.apple.com/QGx", false, null],
		["http://fcm.googleapis.com/fcm/send/abc", false, "endpoint must be https"],
		["https://127.0.0.1/x", false, "private"],
		["https://localhost:8443/x", false, "private"],
		["https://10.1.2.3/x", false, "private"],
		["https://172.20.0.1/x", false, "private"],
		["https://192.168.1.1/x", false, "private"],
		["https://169.254.169.254/latest", false, "private"],
		["https://[::1]/x", false, "private"],
		["https://[fd00::1]/x", false, "private"],
		["https://[fec0::1]/x", false, "private"],
		["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", false, "private"],
		["https://[2001:db8::1]/x", false, "private"],
		["https://[2606:4700::1111]/x", false, null],
		["https://[::ffff:10.0.0.1]/x", false, "private"],
		["https://0x7f000001/x", false, "private"],
		["https://printer/x", false, "private"],
		["https://push.corp.internal/x", false, "private"],
		["https://user:pw@push.example.com/x", false, "credentials"],
		["not a url", false, "not a URL"],
		["http://127.0.0.1:9000/webpush/1", false, "https"],
		["http://127.0.0.1:9000/webpush/1", true, null],
		["http://localhost:9000/webpush/1", true, null],
		["http://10.0.0.1:9000/webpush/1", true, "https"],
		["https://192.168.0.1/x", true, "private"],
	])("%s (allowLocal %s)", (url, allowLocal, expected) => {
		const result = checkWebPushEndpoint(url, allowLocal);
		if (expected === null) expect(result).toBeNull();
		else expect(result).toContain(expected);
	});
});

describe("Web Push services allowed in production", () => {
	it("are the browsers' services by default, WEBPUSH_ALLOWED_HOSTS replaces them, * allows any public host", () => {
		const prod = vendorEndpoints({ WARBLER_ENV: "production" });
		expect(prod.webPushHosts).toEqual([...DEFAULT_WEBPUSH_HOSTS]);
		const check = (url: string, hosts = prod.webPushHosts) => checkWebPushEndpoint(url, false, hosts);
		expect(check("https://fcm.googleapis.com/fcm/send/abc")).toBeNull();
		expect(check("https://updates.push.services.mozilla.com/wpush/v2/x")).toBeNull();
		expect(check("https://web.push.apple.com/QGx")).toBeNull();
		expect(check("https://db5p.notify.windows.com/w/?token=x")).toBeNull();
		expect(check("https://push.example.com/send/abc")).toContain("not a known Web Push service");
		expect(check("https://fcm.googleapis.com.evil.example/x")).toContain("not a known Web Push service");
		expect(check("https://evilfcm.googleapis.com.example/x")).toContain("not a known Web Push service");
		const own = vendorEndpoints({
			WARBLER_ENV: "production",
			WEBPUSH_ALLOWED_HOSTS: "push.example.com, *.corp-push.net",
		} as never);
		expect(own.webPushHosts).toEqual(["push.example.com", "corp-push.net"]);
		expect(check("https://push.example.com/send/abc", own.webPushHosts)).toBeNull();
		expect(check("https://eu.corp-push.net/x", own.webPushHosts)).toBeNull();
		expect(check("https://fcm.googleapis.com/x", own.webPushHosts)).toContain("not a known");
		const any = vendorEndpoints({ WARBLER_ENV: "production", WEBPUSH_ALLOWED_HOSTS: "*" } as never);
		expect(any.webPushHosts).toBeUndefined();
		expect(checkWebPushEndpoint("https://push.example.com/send/abc", false, any.webPushHosts)).toBeNull();
		// Private addresses stay refused whatever the list says.
		expect(checkWebPushEndpoint("https://10.0.0.1/x", false, ["10.0.0.1"])).toContain("private");
		expect(vendorEndpoints({ WARBLER_ENV: "local" }).webPushHosts).toBeUndefined();
	});
});

describe("vendor answers → outcomes", () => {
	const h = (init: Record<string, string> = {}) => new Headers(init);

	it("APNs", () => {
		expect(classifyApns(410, "Unregistered", h())).toMatchObject({ kind: "invalid_token" });
		expect(classifyApns(400, "BadDeviceToken", h())).toMatchObject({ kind: "invalid_token" });
		expect(classifyApns(400, "DeviceTokenNotForTopic", h())).toMatchObject({ kind: "invalid_token" });
		expect(classifyApns(403, "ExpiredProviderToken", h())).toBe("refresh");
		expect(classifyApns(429, "TooManyRequests", h({ "retry-after": "7" }))).toEqual({
			kind: "retry",
			afterSeconds: 7,
			reason: "apns 429 TooManyRequests",
		});
		expect(classifyApns(500, "InternalServerError", h())).toMatchObject({ kind: "retry" });
		expect(classifyApns(503, "ServiceUnavailable", h())).toMatchObject({ kind: "retry" });
		expect(classifyApns(413, "PayloadTooLarge", h())).toMatchObject({ kind: "rejected" });
		expect(classifyApns(403, "InvalidProviderToken", h())).toMatchObject({ kind: "rejected" });
	});

	it("FCM", () => {
		const err = (status: string, errorCode?: string, extra: object[] = []) => ({
			error: {
				status,
				details: [
					...(errorCode ? [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] : []),
					...extra,
				],
			},
		});
		expect(classifyFcm(404, err("NOT_FOUND", "UNREGISTERED"), h())).toMatchObject({
			kind: "invalid_token",
			reason: "fcm 404 UNREGISTERED",
		});
		expect(classifyFcm(403, err("PERMISSION_DENIED", "SENDER_ID_MISMATCH"), h())).toMatchObject({ kind: "invalid_token" });
		const badToken = err("INVALID_ARGUMENT", "INVALID_ARGUMENT", [
			{ fieldViolations: [{ field: "message.token", description: "Invalid registration token" }] },
		]);
		expect(classifyFcm(400, badToken, h())).toMatchObject({ kind: "invalid_token" });
		expect(classifyFcm(400, err("INVALID_ARGUMENT", "INVALID_ARGUMENT"), h())).toMatchObject({ kind: "rejected" });
		expect(classifyFcm(401, err("UNAUTHENTICATED"), h())).toBe("refresh");
		expect(classifyFcm(429, err("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), h({ "retry-after": "30" }))).toEqual({
			kind: "retry",
			afterSeconds: 30,
			reason: "fcm 429 QUOTA_EXCEEDED",
		});
		expect(classifyFcm(503, err("UNAVAILABLE", "UNAVAILABLE"), h())).toMatchObject({ kind: "retry" });
		expect(classifyFcm(500, undefined, h())).toMatchObject({ kind: "retry" });
	});

	it("HMS partial success lists illegal tokens inside msg", () => {
		expect(illegalTokens('{"success":1,"failure":2,"illegal_tokens":["a","b"]}')).toEqual(["a", "b"]);
		expect(illegalTokens({ illegal_tokens: ["c"] })).toEqual(["c"]);
		expect(illegalTokens("Success")).toEqual([]);
	});

	it("Web Push", () => {
		for (const s of [200, 201, 202]) expect(classifyWebPush(s, h()).kind).toBe("ok");
		expect(classifyWebPush(201, h({ location: "https://push/m/1" }))).toEqual({ kind: "ok", vendorId: "https://push/m/1" });
		expect(classifyWebPush(404, h()).kind).toBe("invalid_token");
		expect(classifyWebPush(410, h()).kind).toBe("invalid_token");
		expect(classifyWebPush(413, h()).kind).toBe("rejected");
		expect(classifyWebPush(429, h({ "retry-after": "12" }))).toEqual({ kind: "retry", afterSeconds: 12, reason: "webpush 429" });
		expect(classifyWebPush(502, h()).kind).toBe("retry");
		expect(classifyWebPush(400, h()).kind).toBe("rejected");
	});

	it("Web Push never follows a redirect from the subscription's endpoint", async () => {
		const credentials = await completeWebPushCredentials({ subject: "mailto:ops@example.com" });
		const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
		const p256dh = Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url");
		const auth = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
		const seen: (RequestRedirect | undefined)[] = [];
		const fetchFn = (async (_url: string, init: RequestInit) => {
			seen.push(init.redirect);
			return new Response(null, { status: 307, headers: { location: "http://169.254.169.254/latest/meta-data" } });
		}) as unknown as typeof fetch;
		const [outcome] = await webPushChannel.send(
			{ body: { title: "t" }, headers: { ttl: "60" }, size: 20 },
			[{ userId: "u", deviceId: "d", subscription: { endpoint: "https://push.example.com/send/x", keys: { p256dh, auth } } }],
			{ credentials, endpoints: vendorEndpoints({ WARBLER_ENV: "test" }), tokens: undefined as never, fetch: fetchFn },
		);
		expect(seen).toEqual(["manual"]);
		expect(outcome).toEqual({ kind: "rejected", reason: "webpush 307" });
	});

	it("Retry-After as seconds or HTTP-date", () => {
		expect(retryAfterSeconds(h({ "retry-after": "120" }))).toBe(120);
		expect(retryAfterSeconds(h({ "retry-after": new Date(NOW + 30_000).toUTCString() }), NOW)).toBe(30);
		expect(retryAfterSeconds(h({ "retry-after": "soon" }))).toBeUndefined();
		expect(retryAfterSeconds(h())).toBeUndefined();
	});

	it("deepMerge follows JSON Merge Patch and ignores prototype keys", () => {
		const patch = JSON.parse('{"a":{"b":null,"c":2},"__proto__":{"polluted":true},"d":[1]}');
		const out = deepMerge({ a: { b: 1 }, d: [0, 0] }, patch);
		expect(out).toEqual({ a: { c: 2 }, d: [1] });
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});
});
