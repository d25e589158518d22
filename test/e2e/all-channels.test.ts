/**
 * The whole promise in one app: a user with a phone on each of Huawei, Xiaomi, OPPO, vivo, Honor,
 * Meizu, an iPhone, an FCM phone and a browser, all offline, gets one operational push on every one of
 * them through its own vendor, each classified the way that vendor wants an operational message, and
 * the message counts one sent device per channel.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, api } from "./helpers.js";
import { type Delivery, deliveriesFor, eventually, simGet, simPost } from "./sim.js";

const CHANNELS = ["apns", "fcm", "hms", "xiaomi", "oppo", "vivo", "honor", "meizu", "webpush"] as const;

describe("one app, every channel", () => {
	let key: string;
	const stamp = Date.now().toString(36);
	const tokens = {
		// 64 hex characters of its own: other files' APNs tokens stay in the shared simulator's log.
		apns: Buffer.from(`all-channels-${stamp}`.padEnd(32, "-").slice(0, 32)).toString("hex"),
		fcm: `fcm-all-${stamp}`,
		hms: `hms-all-${stamp}`,
		xiaomi: `xiaomi-all-${stamp}`,
		oppo: `CN_oppo-all-${stamp}`,
		vivo: `vivo-all-${stamp}`,
		honor: `honor-all-${stamp}`,
		meizu: `meizu-all-${stamp}`,
	};
	let webpushId = "";

	beforeAll(async () => {
		const app = await api("POST", "/v1/apps", adminToken, { name: "all-channels-e2e" });
		key = app.body.key.secret;
		const creds = await simGet<Record<string, Record<string, unknown>>>("/__sim/credentials");
		// Xiaomi and OPPO classify through the channels registered in their consoles.
		const channelIds = { marketing: "ops-marketing", news: "ops-news", transactional: "ops-system" };
		const bodies: Record<string, unknown> = {
			...creds,
			xiaomi: { ...creds.xiaomi, channel_ids: channelIds },
			oppo: { ...creds.oppo, channel_ids: channelIds },
			webpush: { subject: "mailto:ops@example.com" },
		};
		for (const c of CHANNELS) {
			const r = await api("PUT", `/v1/credentials/${c}`, key, bodies[c]);
			expect(r.status, `${c}: ${r.text}`).toBe(200);
		}
		const sub = (await simPost("/__sim/webpush/subscriptions")) as { endpoint: string; keys: object };
		webpushId = sub.endpoint.split("/").pop() ?? "";
		const devices = [
			{ id: "iphone", platform: "ios", channel: "apns", token: tokens.apns },
			{ id: "pixel", platform: "android", channel: "fcm", token: tokens.fcm },
			{ id: "mate", platform: "android", channel: "hms", token: tokens.hms },
			{ id: "redmi", platform: "android", channel: "xiaomi", token: tokens.xiaomi },
			{ id: "reno", platform: "android", channel: "oppo", token: tokens.oppo },
			{ id: "iqoo", platform: "android", channel: "vivo", token: tokens.vivo },
			{ id: "magic", platform: "android", channel: "honor", token: tokens.honor },
			{ id: "meizu21", platform: "android", channel: "meizu", token: tokens.meizu },
			{ id: "browser", platform: "web", channel: "webpush", subscription: { endpoint: sub.endpoint, keys: sub.keys } },
		];
		for (const d of devices) expect((await api("POST", "/v1/users/offline-wei/devices", key, d)).status).toBe(201);
	});

	it("an operational push reaches all nine devices through their own vendors, each classified as operational", async () => {
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-wei"] },
			content: { type: "text", title: "今日要闻", body: "Morning briefing" },
			options: { category: "news" },
		});
		expect(sent.status).toBe(202);
		const got = {} as Record<keyof typeof tokens | "webpush", Delivery>;
		for (const [c, token] of Object.entries({ ...tokens, webpush: webpushId })) {
			const [d] = await deliveriesFor(token);
			expect(d, c).toBeDefined();
			got[c as keyof typeof got] = d as Delivery;
		}
		expect(got.hms.payload).toMatchObject({ message: { android: { category: "MARKETING" } } });
		expect(got.xiaomi.payload).toMatchObject({ "extra.channel_id": "ops-news" });
		expect(got.oppo.payload).toMatchObject({ notification: { category: "NEWS", notify_level: 1, channel_id: "ops-news" } });
		expect(got.vivo.payload).toMatchObject({ classification: 0, category: "NEWS" });
		expect(got.honor.payload).toMatchObject({ android: { notification: { importance: "LOW" } } });
		expect(got.meizu.payload).toMatchObject({ message: { noticeBarInfo: { title: "今日要闻" } } });
		expect((got.apns.payload as { aps: { alert: { title: string } } }).aps.alert.title).toBe("今日要闻");
		expect(JSON.stringify(got.fcm.payload)).toContain("今日要闻");
		expect(JSON.stringify(got.webpush.payload)).toContain("Morning briefing");

		const msg = await eventually(
			() => api("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => CHANNELS.every((c) => r.body.counts.by_channel[c]?.sent === 1),
		);
		for (const c of CHANNELS) {
			expect(msg.body.counts.by_channel[c], c).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0 });
		}
		const recipient = await api("GET", `/v1/messages/${sent.body.id}/recipients/offline-wei`, key);
		expect(recipient.body.devices.map((d: { channel: string; outcome: string }) => `${d.channel}:${d.outcome}`).sort()).toEqual(
			CHANNELS.map((c) => `${c}:sent`).sort(),
		);
	});
});
