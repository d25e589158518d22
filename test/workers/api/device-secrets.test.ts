/**
 * A device's push token and its Web Push `auth` secret let whoever holds them push to the device:
 * keys without the `manage` scope see only their last 4 characters.
 */
import { describe, expect, it } from "vitest";
import { call, newApp, newKey } from "../http.js";
import { webPushSubscription } from "./helpers.js";

describe("device secrets in answers", () => {
	it("are whole for manage keys and masked for read and send keys", async () => {
		const { appId, key } = await newApp();
		const token = `${"c".repeat(60)}beef`;
		const subscription = webPushSubscription();
		expect(
			(await call("POST", "/v1/users/mia/devices", key, { id: "ios", platform: "ios", channel: "apns", token })).status,
		).toBe(201);
		expect(
			(await call("POST", "/v1/users/mia/devices", key, { id: "web", platform: "web", channel: "webpush", subscription })).status,
		).toBe(201);
		const whole = await call("GET", "/v1/users/mia", key);
		type DeviceSeen = { id: string; token: string | null; subscription: { keys: { p256dh: string; auth: string } } };
		const byId = (body: { devices: DeviceSeen[] }, id: string) => body.devices.find((d) => d.id === id) as DeviceSeen;
		expect(byId(whole.body, "ios").token).toBe(token);
		expect(byId(whole.body, "web").subscription.keys.auth).toBe(subscription.keys.auth);

		for (const scopes of [["read"], ["read", "send"]]) {
			const limited = await newKey(appId, scopes);
			const seen = await call("GET", "/v1/users/mia", limited.secret);
			expect(seen.status).toBe(200);
			expect(byId(seen.body, "ios").token).toBe("…beef");
			const web = byId(seen.body, "web");
			expect(web.subscription.keys.auth).toBe(`…${subscription.keys.auth.slice(-4)}`);
			expect(web.subscription.keys.p256dh).toBe(subscription.keys.p256dh); // a public key
			expect(JSON.stringify(seen.body)).not.toContain(token);
			expect(JSON.stringify(seen.body)).not.toContain(subscription.keys.auth);
		}
	});
});
