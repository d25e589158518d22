import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, api } from "./helpers.js";
import { leakedIn, simulatorSecrets } from "./secrets.js";
import { type Delivery, deliveriesFor, eventually, simGet, simPost, useSimulatorCredentials } from "./sim.js";

describe("vendor channels end to end against the local simulator", () => {
	let key: string;
	const tokens = {
		apns: `${"b2".repeat(32)}`,
		fcm: `fcm-${Date.now()}`,
		hms: `hms-${Date.now()}`,
		xiaomi: `xiaomi-${Date.now()}`,
	};
	let webpushEndpoint: string;

	beforeAll(async () => {
		const app = await api("POST", "/v1/apps", adminToken, { name: "vendors-e2e" });
		key = app.body.key.secret;
		await useSimulatorCredentials(key, ["apns", "fcm", "hms", "xiaomi"]);
		expect((await api("PUT", "/v1/credentials/webpush", key, { subject: "mailto:ops@example.com" })).status).toBe(200);
		const created = (await simPost("/__sim/webpush/subscriptions")) as { endpoint: string; keys: object };
		const sub = { endpoint: created.endpoint, keys: created.keys };
		webpushEndpoint = sub.endpoint;
		const devices = [
			{ id: "iphone", platform: "ios", channel: "apns", token: tokens.apns },
			{ id: "pixel", platform: "android", channel: "fcm", token: tokens.fcm },
			{ id: "mate", platform: "android", channel: "hms", token: tokens.hms },
			{ id: "redmi", platform: "android", channel: "xiaomi", token: tokens.xiaomi },
			{ id: "browser", platform: "web", channel: "webpush", subscription: sub },
		];
		for (const d of devices) expect((await api("POST", "/v1/users/offline-olga/devices", key, d)).status).toBe(201);
	});

	it("an offline user receives on APNs, FCM, HMS, Xiaomi and Web Push; the Web Push body decrypts to the content", async () => {
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-olga"] },
			content: { type: "text", title: "Order shipped", body: "Your parcel is on its way", data: { order: "42" } },
		});
		expect(sent.status).toBe(202);
		for (const token of Object.values(tokens)) expect((await deliveriesFor(token)).length).toBeGreaterThanOrEqual(1);
		const apns = (await deliveriesFor(tokens.apns))[0]?.payload as { aps: { alert: { title: string } } };
		expect(apns.aps.alert.title).toBe("Order shipped");
		const web = await deliveriesFor(webpushEndpoint.split("/").pop() ?? "");
		const plain = web[0]?.payload as Record<string, unknown>;
		expect(JSON.stringify(plain)).toContain("Your parcel is on its way");
		const msg = await eventually(
			() => api("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => Object.keys(r.body.counts.by_channel).length === 5,
		);
		for (const channel of ["apns", "fcm", "hms", "xiaomi", "webpush"]) {
			expect(msg.body.counts.by_channel[channel]).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0 });
		}
		const recipient = await api("GET", `/v1/messages/${sent.body.id}/recipients/offline-olga`, key);
		expect(recipient.body.devices.map((d: { outcome: string }) => d.outcome)).toEqual(Array(5).fill("sent"));
	});

	it("a 429 is retried after its Retry-After and then delivered", async () => {
		await simPost("/__sim/faults", { channel: "fcm", token: tokens.fcm, kind: "429", retry_after: 2, times: 1 });
		const before = (await deliveriesFor(tokens.fcm)).length;
		const t0 = Date.now();
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-olga"] },
			content: { type: "text", body: "after a 429" },
			options: { channels: "vendor" },
		});
		expect(sent.status).toBe(202);
		const after = await deliveriesFor(tokens.fcm, before + 1);
		expect(after.length).toBe(before + 1);
		expect(Date.parse(after.at(-1)?.at ?? "") - t0).toBeGreaterThanOrEqual(2000);
	});

	it("a vendor that does not answer within the 15 s timeout is tried again: the push arrives and counts as sent", async () => {
		await simPost("/__sim/faults", { channel: "fcm", token: tokens.fcm, kind: "slow", delay_ms: 17_000, times: 1 });
		const before = (await deliveriesFor(tokens.fcm)).length;
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-olga"] },
			content: { type: "text", body: "after a timeout" },
			options: { channels: "vendor" },
		});
		expect(sent.status).toBe(202);
		// The retry gets through (the slow first attempt may land too, late: vendor pushes are at least once).
		const after = await deliveriesFor(tokens.fcm, before + 1, 50_000);
		expect(after.some((d) => JSON.stringify(d.payload).includes("after a timeout"))).toBe(true);
		const msg = await eventually(
			() => api("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.by_channel.fcm?.sent === 1,
		);
		expect(msg.body.counts.by_channel.fcm).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0 });
	}, 90_000);

	it("a 410 disables the device with its last error, and later messages skip it", async () => {
		await simPost("/__sim/faults", { channel: "apns", token: tokens.apns, kind: "410", times: 1 });
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-olga"] },
			content: { type: "text", body: "to a phone that is gone" },
			options: { channels: "vendor" },
		});
		const user = await eventually(
			() => api("GET", "/v1/users/offline-olga", key),
			(r) => r.body.devices.find((d: { id: string }) => d.id === "iphone")?.status !== "active",
		);
		const iphone = user.body.devices.find((d: { id: string }) => d.id === "iphone");
		expect(iphone.status).not.toBe("active");
		expect(iphone.last_error).toMatch(/Unregistered|410/);
		const counted = await eventually(
			() => api("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.by_channel.apns?.invalid_token === 1,
		);
		expect(counted.body.counts.by_channel.apns.invalid_token).toBe(1);
		const apnsBefore = (await simGet<Delivery[]>(`/__sim/deliveries?token=${tokens.apns}`)).length;
		const later = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-olga"] },
			content: { type: "text", body: "later" },
			options: { channels: "vendor" },
		});
		await eventually(
			() => api("GET", `/v1/messages/${later.body.id}`, key),
			(r) => r.body.counts.by_channel.fcm?.sent === 1,
		);
		await new Promise((r) => setTimeout(r, 1500));
		expect((await simGet<Delivery[]>(`/__sim/deliveries?token=${tokens.apns}`)).length).toBe(apnsBefore);
	});

	it("five 500s end in the dead-letter queue and a failed count", async () => {
		await simPost("/__sim/faults", { channel: "hms", token: tokens.hms, kind: "500", times: 5 });
		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["offline-olga"] },
			content: { type: "text", body: "to a vendor that keeps failing" },
			options: { channels: "vendor" },
		});
		const msg = await eventually(
			() => api("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.by_channel.hms?.failed === 1,
			90_000,
		);
		expect(msg.body.counts.by_channel.hms).toEqual({ sent: 0, failed: 1, invalid_token: 0, quota_exceeded: 0 });
		const recipient = await api("GET", `/v1/messages/${sent.body.id}/recipients/offline-olga`, key);
		const hms = recipient.body.devices.find((d: { channel: string }) => d.channel === "hms");
		expect(hms).toMatchObject({ outcome: "failed" });
		expect(hms.reason).toBeTruthy();
	}, 120_000);

	it("refreshes each vendor token exactly once under 50 concurrent sends", async () => {
		const app = await api("POST", "/v1/apps", adminToken, { name: "token-refresh-e2e" });
		const appKey = app.body.key.secret as string;
		await useSimulatorCredentials(appKey, ["apns", "fcm", "hms"]);
		const devices = [
			{ id: "i", platform: "ios", channel: "apns", token: "c3".repeat(32) },
			{ id: "p", platform: "android", channel: "fcm", token: `fcm-refresh-${Date.now()}` },
			{ id: "h", platform: "android", channel: "hms", token: `hms-refresh-${Date.now()}` },
		];
		for (const d of devices) expect((await api("POST", "/v1/users/busy-bee/devices", appKey, d)).status).toBe(201);
		type Stats = Record<string, { token_refreshes: number; sends: number }>;
		const before = await simGet<Stats>("/__sim/stats");
		const sends = await Promise.all(
			Array.from({ length: 50 }, (_, i) =>
				api("POST", "/v1/messages", appKey, {
					audience: { users: ["busy-bee"] },
					content: { type: "text", body: `burst ${i}` },
					options: { channels: "vendor" },
				}),
			),
		);
		expect(sends.every((r) => r.status === 202)).toBe(true);
		const after = await eventually(
			() => simGet<Stats>("/__sim/stats"),
			(st) => ["apns", "fcm", "hms"].every((c) => (st[c]?.sends ?? 0) - (before[c]?.sends ?? 0) >= 50),
			90_000,
		);
		for (const c of ["apns", "fcm", "hms"]) {
			expect((after[c]?.sends ?? 0) - (before[c]?.sends ?? 0)).toBe(50);
			expect((after[c]?.token_refreshes ?? 0) - (before[c]?.token_refreshes ?? 0)).toBe(1);
		}
	}, 120_000);

	it("never shows a secret in any credentials answer", async () => {
		const list = await api("GET", "/v1/credentials", key);
		expect(list.status).toBe(200);
		expect(list.body.credentials).toHaveLength(5);
		// Named fields, each checked to be a real secret first: a renamed field fails here instead of
		// searching the answer for "undefined".
		const creds = await simGet<unknown>("/__sim/credentials");
		const secrets = simulatorSecrets(creds);
		expect(Object.keys(secrets)).toEqual([
			"apns.private_key",
			"fcm.service_account.private_key",
			"hms.client_secret",
			"xiaomi.app_secret",
			"oppo.master_secret",
			"vivo.app_secret",
			"honor.client_secret",
			"meizu.app_secret",
		]);
		// The search finds every one of them where they are (raw and JSON-escaped), so an empty result below means something.
		expect(leakedIn(JSON.stringify(creds), secrets)).toEqual(Object.keys(secrets));
		expect(leakedIn(Object.values(secrets).join("\n"), secrets)).toEqual(Object.keys(secrets));
		expect(leakedIn(list.text, secrets)).toEqual([]);
		const pk = await api("GET", "/v1/webpush/public-key", key);
		expect(pk.body.public_key).toMatch(/^[A-Za-z0-9_-]{86,88}$/);
		expect(leakedIn(pk.text, secrets)).toEqual([]);
	});
});
