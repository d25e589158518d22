/**
 * OPPO, vivo, Honor and Meizu end to end against the local simulator: an offline user with one
 * device per vendor receives on each with the message's classification; the vendor's own quota
 * answer and Warbler's per-device marketing quota both count quota_exceeded (and skip the vendor),
 * while the in-app copy still arrives over WebSocket on the next connect; a dead token disables the
 * device; bad credentials are a 400 naming the field; another app's key sees none of it.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { adminToken, api, errorCode, wsUrl } from "./helpers.js";
import { acceptedFor, type Delivery, deliveriesFor, eventually, simGet, simPost, useSimulatorCredentials } from "./sim.js";

const CN = ["oppo", "vivo", "honor", "meizu"] as const;
type Cn = (typeof CN)[number];

describe("OPPO, vivo, Honor and Meizu end to end", () => {
	let key: string;
	const stamp = Date.now().toString(36);
	const tokens: Record<Cn, string> = {
		oppo: `CN_oppo-${stamp}`,
		vivo: `vivo-${stamp}`,
		honor: `honor-${stamp}`,
		meizu: `meizu-${stamp}`,
	};
	const counts = (id: string) => api("GET", `/v1/messages/${id}`, key);

	beforeAll(async () => {
		const app = await api("POST", "/v1/apps", adminToken, { name: "cn-vendors-e2e" });
		key = app.body.key.secret;
		await useSimulatorCredentials(key, CN);
		const devices = [
			{ id: "reno", platform: "android", channel: "oppo", token: tokens.oppo },
			{ id: "iqoo", platform: "android", channel: "vivo", token: tokens.vivo },
			{ id: "magic", platform: "android", channel: "honor", token: tokens.honor },
			{ id: "meizu21", platform: "android", channel: "meizu", token: tokens.meizu },
		];
		for (const d of devices) expect((await api("POST", "/v1/users/offline-li/devices", key, d)).status).toBe(201);
	});

	it("an offline user receives on each vendor, classified as the message's category", async () => {
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-li"] },
			content: { type: "text", title: "订单已发货", body: "您的包裹已发出", data: { order: "42" } },
			options: { category: "order" },
		});
		expect(sent.status).toBe(202);
		const got = {} as Record<Cn, Delivery>;
		for (const c of CN) {
			const [d] = await deliveriesFor(tokens[c]);
			expect(d, c).toBeDefined();
			got[c] = d as Delivery;
		}
		const oppo = got.oppo.payload as { notification: Record<string, unknown>; region: string };
		expect(oppo.region).toBe("cn");
		expect(oppo.notification).toMatchObject({ title: "订单已发货", category: "ORDER", notify_level: 2 });
		expect(got.vivo.payload).toMatchObject({ title: "订单已发货", classification: 1, category: "ORDER" });
		expect(got.honor.payload).toMatchObject({ android: { notification: { title: "订单已发货", importance: "NORMAL" } } });
		expect(got.meizu.payload).toMatchObject({ message: { noticeBarInfo: { title: "订单已发货" } } });
		const msg = await eventually(
			() => counts(sent.body.id),
			(r) => CN.every((c) => r.body.counts.by_channel[c]?.sent === 1),
		);
		for (const c of CN) {
			expect(msg.body.counts.by_channel[c], c).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0 });
		}
	});

	it("the vendor's own daily-quota answer counts quota_exceeded, not failed", async () => {
		await simPost("/__sim/faults", { channel: "vivo", token: tokens.vivo, kind: "quota", times: 1 });
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-li"] },
			content: { type: "text", body: "限时优惠" },
			options: { category: "marketing", channels: "vendor" },
		});
		const msg = await eventually(
			() => counts(sent.body.id),
			(r) => r.body.counts.by_channel.vivo?.quota_exceeded === 1,
		);
		expect(msg.body.counts.by_channel.vivo).toEqual({ sent: 0, failed: 0, invalid_token: 0, quota_exceeded: 1 });
		const recipient = await api("GET", `/v1/messages/${sent.body.id}/recipients/offline-li`, key);
		const vivo = recipient.body.devices.find((d: { channel: string }) => d.channel === "vivo");
		expect(vivo).toMatchObject({ outcome: "quota_exceeded", reason: expect.stringContaining("10070") });
	});

	it("over the app's marketing quota a push is counted quota_exceeded, not sent to the vendor, and still arrives in-app", async () => {
		const settings = await api("PATCH", "/v1/settings", key, {
			vendor_quotas: { oppo: { marketing_per_device_per_day: 1 } },
		});
		expect(settings.status, settings.text).toBe(200);
		expect(settings.body.vendor_quotas.oppo.marketing_per_device_per_day).toBe(1);
		await new Promise((r) => setTimeout(r, 10_500)); // the vendor queue's settings cache
		const send = (body: string, category: string) =>
			api("POST", "/v1/messages", key, {
				audience: { users: ["offline-li"] },
				content: { type: "text", body },
				options: { category, channels: "vendor" },
			});
		const first = await send("第一条营销消息", "marketing");
		await eventually(
			() => counts(first.body.id),
			(r) => r.body.counts.by_channel.oppo?.sent === 1,
		);
		const oppoBefore = (await simGet<Delivery[]>(`/__sim/deliveries?token=${tokens.oppo}`)).length;
		const second = await send("第二条营销消息", "news");
		const over = await eventually(
			() => counts(second.body.id),
			(r) => r.body.counts.by_channel.oppo?.quota_exceeded === 1 && r.body.counts.by_channel.vivo?.sent === 1,
		);
		expect(over.body.counts.by_channel.oppo).toEqual({ sent: 0, failed: 0, invalid_token: 0, quota_exceeded: 1 });
		// Other vendors have no quota set: vivo got it.
		expect(over.body.counts.by_channel.vivo.sent).toBe(1);
		// A transactional message is never limited.
		const otp = await send("验证码 123456", "transactional");
		await eventually(
			() => counts(otp.body.id),
			(r) => r.body.counts.by_channel.oppo?.sent === 1,
		);
		const oppoAfter = await simGet<Delivery[]>(`/__sim/deliveries?token=${tokens.oppo}`);
		expect(oppoAfter.length).toBe(oppoBefore + 1);
		expect(JSON.stringify(oppoAfter)).not.toContain("第二条营销消息");

		// The user comes online: the over-quota message is there over WebSocket.
		const token = (await api("POST", "/v1/users/offline-li/tokens", key, {})).body.token as string;
		const ws = new WebSocket(wsUrl(token, "app"), ["warbler.v1"]);
		const frames: { type: string; id?: string }[] = [];
		ws.on("message", (d) => frames.push(JSON.parse(String(d))));
		await new Promise((r) => ws.once("open", r));
		ws.send(JSON.stringify({ type: "hello", last_seq: 0 }));
		const seen = await eventually(
			async () => frames.filter((f) => f.type === "message").map((f) => f.id),
			(ids) => ids.includes(second.body.id),
		);
		ws.close();
		expect(seen).toContain(second.body.id);
	}, 90_000);

	it("outside the allowed hours a marketing push is counted (count) or held until they open (hold)", async () => {
		const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
		const marketing = (body: string) =>
			api("POST", "/v1/messages", key, {
				audience: { users: ["offline-li"] },
				content: { type: "text", body },
				options: { category: "marketing", channels: "vendor" },
			});
		const hours = (start: number, end: number, outside: "count" | "hold") => ({
			vendor_quotas: {
				honor: { allowed_hours: { start: hhmm(start), end: hhmm(end) }, outside_hours: outside, time_zone: "UTC" },
			},
		});
		expect(
			(await api("PATCH", "/v1/settings", key, hours(Date.now() + 2 * 3600_000, Date.now() + 3 * 3600_000, "count"))).status,
		).toBe(200);
		await new Promise((r) => setTimeout(r, 10_500)); // the vendor queue's settings cache
		const counted = await marketing("夜间营销消息");
		const c = await eventually(
			() => counts(counted.body.id),
			(r) => r.body.counts.by_channel.honor?.quota_exceeded === 1,
		);
		expect(c.body.counts.by_channel.honor).toEqual({ sent: 0, failed: 0, invalid_token: 0, quota_exceeded: 1 });

		// The hours open at the next full minute at least 15 s after the settings apply.
		const opens = Math.ceil((Date.now() + 10_500 + 15_000) / 60_000) * 60_000;
		expect((await api("PATCH", "/v1/settings", key, hours(opens, opens + 30 * 60_000, "hold"))).status).toBe(200);
		await new Promise((r) => setTimeout(r, 10_500));
		const held = await marketing("早间营销消息");
		const before = (await simGet<Delivery[]>(`/__sim/deliveries?token=${tokens.honor}`)).length;
		await new Promise((r) => setTimeout(r, 3000));
		// Not yet: still before the hours open.
		expect(Date.now()).toBeLessThan(opens);
		expect((await simGet<Delivery[]>(`/__sim/deliveries?token=${tokens.honor}`)).length).toBe(before);
		const sent = await eventually(
			() => counts(held.body.id),
			(r) => r.body.counts.by_channel.honor?.sent === 1,
			150_000,
		);
		expect(sent.body.counts.by_channel.honor.sent).toBe(1);
		const got = await simGet<Delivery[]>(`/__sim/deliveries?token=${tokens.honor}`);
		const arrived = got.find((d) => JSON.stringify(d.payload).includes("早间营销消息"));
		expect(Date.parse(arrived?.at ?? "")).toBeGreaterThanOrEqual(opens);
	}, 240_000);

	it("a dead token disables the device with its last error and counts invalid_token", async () => {
		await simPost("/__sim/faults", { channel: "meizu", token: tokens.meizu, kind: "unregistered", times: 1 });
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-li"] },
			content: { type: "text", body: "to a phone that is gone" },
			options: { channels: "vendor", category: "transactional" },
		});
		const user = await eventually(
			() => api("GET", "/v1/users/offline-li", key),
			(r) => r.body.devices.find((d: { id: string }) => d.id === "meizu21")?.status !== "active",
		);
		expect(user.body.devices.find((d: { id: string }) => d.id === "meizu21")).toMatchObject({
			last_error: expect.stringContaining("110003"),
		});
		const msg = await eventually(
			() => counts(sent.body.id),
			(r) => r.body.counts.by_channel.meizu?.invalid_token === 1,
		);
		expect(msg.body.counts.by_channel.meizu.invalid_token).toBe(1);
	});

	it("bad credentials are a 400 naming the field; another app's key sees none of them", async () => {
		const bad = await api("PUT", "/v1/credentials/vivo", key, {
			app_id: "not-a-number",
			app_key: "k".repeat(10),
			app_secret: "s".repeat(10),
		});
		expect(bad.status).toBe(400);
		expect(JSON.stringify(bad.body)).toContain("app_id");
		const missing = await api("PUT", "/v1/credentials/oppo", key, { app_key: "abcdefgh12" });
		expect(missing.status).toBe(400);
		expect(JSON.stringify(missing.body)).toContain("master_secret");
		const other = await api("POST", "/v1/apps", adminToken, { name: "cn-vendors-other" });
		for (const c of CN) {
			const r = await api("GET", `/v1/credentials/${c}`, other.body.key.secret);
			expect(r.status, c).toBe(404);
			expect(errorCode(r)).toBe("not_found");
		}
		const mine = await api("GET", "/v1/credentials", key);
		expect(mine.body.credentials.map((c: { channel: string }) => c.channel).sort()).toEqual([...CN].sort());
	});

	it("the demo app (npm start) has one simulator device per new vendor, and a vendor push reaches each", async () => {
		const demo = inject("demo");
		const user = await api("GET", `/v1/users/${demo.userId}`, demo.key);
		const byChannel = Object.fromEntries(user.body.devices.map((d: { channel: string; token: string }) => [d.channel, d.token]));
		for (const c of CN) expect(byChannel[c], c).toBeTruthy();
		// Other tests may push to the demo user too: wait for a push beyond the ones already there.
		const before = Object.fromEntries(
			await Promise.all(CN.map(async (c) => [c, (await acceptedFor(byChannel[c] as string)).length] as const)),
		);
		const sent = await api("POST", "/v1/messages", demo.key, {
			audience: { users: [demo.userId] },
			content: { type: "text", title: "Demo", body: "hello from the demo" },
			options: { channels: "vendor", category: "transactional" },
		});
		expect(sent.status).toBe(202);
		for (const c of CN) {
			const got = await deliveriesFor(byChannel[c] as string, (before[c] ?? 0) + 1);
			expect(JSON.stringify(got.slice(before[c]).map((d) => d.payload)), c).toContain("hello from the demo");
		}
	});
});
