// When the inbox itself hands a message to the vendors, later than the send: the `auto` fallback
// alarm (a connected device did not ack in time) and the release of a held message. Observed where a
// user would see it: the simulator's FCM endpoint and the device's WebSocket.
import { describe, expect, it } from "vitest";
import { adminToken, api, baseUrl } from "./helpers.js";
import { RawClient } from "./raw-client.js";
import { acceptedFor, deliveriesFor, eventually, useSimulatorCredentials } from "./sim.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newApp(name: string) {
	const app = await api("POST", "/v1/apps", adminToken, { name });
	expect(app.status, app.text).toBe(201);
	const key = app.body.key.secret as string;
	await useSimulatorCredentials(key, ["fcm"]);
	return key;
}

/** A user with one FCM device; answers the device's token. */
async function withFcmDevice(key: string, userId: string) {
	const token = `fcm-${userId}-${Date.now()}`;
	const r = await api("POST", `/v1/users/${userId}/devices`, key, { id: "android", platform: "android", channel: "fcm", token });
	expect(r.status, r.text).toBe(201);
	return token;
}

async function connect(key: string, userId: string, autoAck: boolean) {
	const token = (await api("POST", `/v1/users/${userId}/tokens`, key, {})).body.token as string;
	const client = new RawClient(baseUrl, token, "tab", autoAck);
	await client.connect();
	return client;
}

describe("vendor pushes the inbox sends later", () => {
	it("auto: a connected device that does not ack within vendor_fallback_ms gets the vendor push; one that acks does not", async () => {
		// Well above the vendor queue's own latency (two hops with a 1 s batch timeout, about 2 s) and the
		// default window (3 s), so a push that ignored the window or the setting would come visibly before it.
		const FALLBACK_MS = 7000;
		const key = await newApp("fallback-e2e");
		const settings = await api("PATCH", "/v1/settings", key, { vendor_fallback_ms: FALLBACK_MS });
		expect(settings.status, settings.text).toBe(200);
		expect(settings.body.vendor_fallback_ms).toBe(FALLBACK_MS);
		const silentToken = await withFcmDevice(key, "silent-sam");
		const ackingToken = await withFcmDevice(key, "acking-ann");
		const silent = await connect(key, "silent-sam", false);
		const acking = await connect(key, "acking-ann", true);
		try {
			const t0 = Date.now();
			const sent = await api("POST", "/v1/messages", key, {
				audience: { users: ["silent-sam", "acking-ann"] },
				content: { type: "text", title: "Ping", body: "did you see this?" },
			});
			expect(sent.status, sent.text).toBe(202);
			// Both devices are connected: both get it over the WebSocket at once, and no vendor push yet.
			await silent.waitFor((f) => f.type === "message" && f.id === sent.body.id);
			await acking.waitFor((f) => f.type === "message" && f.id === sent.body.id);
			while (Date.now() < t0 + FALLBACK_MS - 500) {
				expect(await acceptedFor(silentToken)).toEqual([]);
				expect(await acceptedFor(ackingToken)).toEqual([]);
				await sleep(250);
			}

			// The window passes without an ack from silent-sam: the inbox's alarm sends through FCM.
			const pushed = await deliveriesFor(silentToken, 1, 20_000);
			expect(pushed).toHaveLength(1);
			expect(Date.parse(pushed[0]!.at) - t0).toBeGreaterThanOrEqual(FALLBACK_MS);
			expect(JSON.stringify(pushed[0]!.payload)).toContain("did you see this?");
			// acking-ann acked in time: her inbox's alarm (due at the same moment) sends nothing.
			await sleep(2000);
			expect(await acceptedFor(ackingToken)).toEqual([]);
			expect(await acceptedFor(silentToken)).toHaveLength(1);
			const ann = await api("GET", `/v1/messages/${sent.body.id}/recipients/acking-ann`, key);
			expect(ann.body.status).toBe("acked");
			const view = await eventually(
				() => api("GET", `/v1/messages/${sent.body.id}`, key),
				(r) => r.body.counts.by_channel?.fcm?.sent === 1,
				10_000,
			);
			expect(view.body.counts.by_channel.fcm).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0 });
		} finally {
			silent.close();
			acking.close();
		}
	}, 60_000);

	it("a message held by quiet hours goes out through the vendor when it is released, not before", async () => {
		const key = await newApp("held-e2e");
		const token = await withFcmDevice(key, "night-nora"); // no WebSocket device connected
		// Quiet hours = the current UTC minute, so the hold ends at the next full minute. Leave at least
		// 15 s before that minute ends for the setup, else start in the next one.
		if (new Date().getUTCSeconds() > 45) await sleep(61_000 - (Date.now() % 60_000));
		const now = new Date();
		const releaseAt = Math.floor(now.getTime() / 60_000) * 60_000 + 60_000;
		const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
		const quiet = { start: hhmm(now.getTime()), end: hhmm(releaseAt), action: "hold" };
		expect((await api("PATCH", "/v1/settings", key, { quiet_hours: quiet, default_timezone: "UTC" })).status).toBe(200);

		const sent = await api("POST", "/v1/messages", key, {
			audience: { users: ["night-nora"] },
			content: { type: "text", title: "Good morning", body: "held until quiet hours end" },
		});
		expect(sent.status, sent.text).toBe(202);
		expect(Date.now()).toBeLessThan(releaseAt); // sent inside quiet hours
		const recipient = await api("GET", `/v1/messages/${sent.body.id}/recipients/night-nora`, key);
		expect(recipient.body.status).toBe("queued");

		// Nothing reaches the vendor while the message is held.
		while (Date.now() < releaseAt - 1000) {
			expect(await acceptedFor(token)).toEqual([]);
			await sleep(Math.min(2000, releaseAt - 1000 - Date.now()));
		}
		expect(await acceptedFor(token)).toEqual([]);

		// Released by the inbox's alarm: one FCM push, at or after the end of quiet hours.
		const pushed = await deliveriesFor(token, 1, 30_000);
		expect(pushed).toHaveLength(1);
		expect(Date.parse(pushed[0]!.at)).toBeGreaterThanOrEqual(releaseAt);
		expect(JSON.stringify(pushed[0]!.payload)).toContain("held until quiet hours end");
		await sleep(1500);
		expect(await acceptedFor(token)).toHaveLength(1);
		const view = await eventually(
			() => api("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.by_channel?.fcm?.sent === 1,
			10_000,
		);
		expect(view.body.counts.by_channel.fcm).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0 });
	}, 150_000);
});
