/**
 * A user has at most MAX_DEVICES_PER_USER devices: a client token cannot invent device ids without
 * end (each would be a D1 row and a slot in the shard). Past the limit a new device is a 409 before
 * the upgrade; known devices keep connecting, and removing one makes room.
 */
import { describe, expect, it } from "vitest";
import { MAX_DEVICES_PER_USER } from "../../../protocol/limits.js";
import { connectRequest, TestSocket } from "../delivery/helpers.js";
import { call, clientToken, newApp } from "../http.js";
import { expectError } from "./helpers.js";

const connect = (token: string, device: string) => connectRequest({ token, device });

describe("devices per user", () => {
	it("refuses a WebSocket device past the limit with 409; known devices still connect; removing one makes room", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "many");
		for (let i = 0; i < MAX_DEVICES_PER_USER; i++) {
			const s = await TestSocket.open(token, `d${i}`);
			await s.hello(0);
			s.close();
		}
		const over = await connect(token, "one-too-many");
		expect(over.status).toBe(409);
		const body = await over.json<{ error: { code: string; details: { path: string }[] } }>();
		expect(body.error.code).toBe("conflict");
		expect(body.error.details.map((d) => d.path)).toEqual(["device"]);
		const known = await connect(token, "d7");
		expect(known.status).toBe(101);
		known.webSocket?.accept();
		known.webSocket?.close(1000, "bye");
		const user = await call("GET", "/v1/users/many", key);
		expect(user.body.devices).toHaveLength(MAX_DEVICES_PER_USER);
		expect((await call("DELETE", "/v1/users/many/devices/d3", key)).status).toBe(204);
		const room = await TestSocket.open(token, "one-too-many");
		expect(await room.hello(0)).toMatchObject({ type: "welcome", device_id: "one-too-many" });
		room.close();
	});

	it("refuses registering a vendor device past the limit with 409; updating a registered one still works", async () => {
		const { key } = await newApp();
		const apns = (i: number) => ({
			id: `ios-${i}`,
			platform: "ios",
			channel: "apns",
			token: `${"a".repeat(60)}${String(i).padStart(4, "0")}`,
		});
		for (let i = 0; i < MAX_DEVICES_PER_USER; i++) {
			expect((await call("POST", "/v1/users/vendor-user/devices", key, apns(i))).status).toBe(201);
		}
		const over = await call("POST", "/v1/users/vendor-user/devices", key, apns(MAX_DEVICES_PER_USER));
		expectError(over, 409, "conflict");
		expect((await call("POST", "/v1/users/vendor-user/devices", key, { ...apns(5), token: "b".repeat(64) })).status).toBe(201);
		expect((await call("GET", "/v1/users/vendor-user", key)).body.devices).toHaveLength(MAX_DEVICES_PER_USER);
	});
});
