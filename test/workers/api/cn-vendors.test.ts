/**
 * The OPPO, vivo, Honor and Meizu additions on the real Worker and D1: credentials (stored masked,
 * a 400 naming the bad field, another app's key gets 404), devices on those channels, and the
 * vendor-quota and default-category settings (validated, removable with null).
 */
import { describe, expect, it } from "vitest";
import { call, newApp } from "../http.js";

const CREDS = {
	oppo: { app_key: "b4Ab2cD7e8f9A0b1", master_secret: "0123456789abcdef0123456789abcdef", channel_ids: { marketing: "promo" } },
	vivo: { app_id: "10337", app_key: "b46efd9a-59e3-45f9-bc35-cc0ee888b0cc", app_secret: "91e92e74-7709-47fc-9eb1-5bddc9265f78" },
	honor: { app_id: "104412345", client_id: "f0a1b2c3d4e5f6a7b8c9", client_secret: "honor-client-secret-0123456789abcdef" },
	meizu: { app_id: "110006", app_secret: "meizu-app-secret-0123456789abcdef" },
} as const;
const SECRETS = [CREDS.oppo.master_secret, CREDS.vivo.app_secret, CREDS.honor.client_secret, CREDS.meizu.app_secret];

describe("OPPO, vivo, Honor and Meizu credentials", () => {
	it("are stored masked; the list shows all four and no secret", async () => {
		const { key } = await newApp();
		for (const [channel, body] of Object.entries(CREDS)) {
			const res = await call("PUT", `/v1/credentials/${channel}`, key, body);
			expect(res.status, res.text).toBe(200);
			expect(res.body.channel).toBe(channel);
			expect(JSON.stringify(res.body.masked)).toMatch(/sha256:[0-9a-f]{16}/);
		}
		const list = await call("GET", "/v1/credentials", key);
		expect(list.body.credentials.map((c: { channel: string }) => c.channel).sort()).toEqual(["honor", "meizu", "oppo", "vivo"]);
		for (const s of SECRETS) expect(list.text).not.toContain(s);
		expect((await call("GET", "/v1/credentials/vivo", key)).body.masked).toMatchObject({ app_id: "10337" });
	});

	it("a bad or missing field is a 400 naming it", async () => {
		const { key } = await newApp();
		const cases: [string, Record<string, unknown>, string][] = [
			["oppo", { app_key: "has spaces", master_secret: CREDS.oppo.master_secret }, "app_key"],
			["oppo", { ...CREDS.oppo, channel_ids: { "Not A Category": "x" } }, "channel_ids"],
			["vivo", { ...CREDS.vivo, app_id: "ten" }, "app_id"],
			["honor", { app_id: CREDS.honor.app_id, client_id: CREDS.honor.client_id }, "client_secret"],
			["meizu", { app_id: "abc", app_secret: CREDS.meizu.app_secret }, "app_id"],
		];
		for (const [channel, body, field] of cases) {
			const res = await call("PUT", `/v1/credentials/${channel}`, key, body);
			expect(res.status, `${channel} ${field}`).toBe(400);
			expect(res.body.error.code).toBe("invalid_request");
			expect(JSON.stringify(res.body.error.details), `${channel} ${field}`).toContain(field);
		}
		expect((await call("GET", "/v1/credentials", key)).body.credentials).toEqual([]);
	});

	it("another app's key gets 404 for reads and deletes, and A's credentials stay", async () => {
		const a = await newApp();
		const b = await newApp();
		for (const [channel, body] of Object.entries(CREDS))
			expect((await call("PUT", `/v1/credentials/${channel}`, a.key, body)).status).toBe(200);
		for (const channel of Object.keys(CREDS)) {
			expect((await call("GET", `/v1/credentials/${channel}`, b.key)).status).toBe(404);
			expect((await call("DELETE", `/v1/credentials/${channel}`, b.key)).status).toBe(404);
		}
		expect((await call("GET", "/v1/credentials", a.key)).body.credentials).toHaveLength(4);
	});
});

describe("devices on the new channels", () => {
	it("register with a token (required) and show their channel", async () => {
		const { key } = await newApp();
		for (const channel of Object.keys(CREDS)) {
			const res = await call("POST", "/v1/users/li/devices", key, {
				id: `d-${channel}`,
				platform: "android",
				channel,
				token: `t-${channel}`,
			});
			expect(res.status, res.text).toBe(201);
			expect(res.body).toMatchObject({ channel, token: `t-${channel}`, status: "active" });
			const none = await call("POST", "/v1/users/li/devices", key, { platform: "android", channel });
			expect(none.status).toBe(400);
			expect(JSON.stringify(none.body.error.details)).toContain("token");
		}
		expect((await call("GET", "/v1/users/li", key)).body.devices).toHaveLength(4);
	});
});

describe("vendor quota settings", () => {
	it("are validated, stored, and removed with null", async () => {
		const { key } = await newApp();
		const quotas = {
			vivo: { marketing_per_device_per_day: 5, allowed_hours: { start: "07:00", end: "23:00" }, outside_hours: "hold" },
			oppo: { marketing_per_device_per_day: 2, time_zone: "Asia/Shanghai" },
		};
		const set = await call("PATCH", "/v1/settings", key, { vendor_quotas: quotas, default_category: "transactional" });
		expect(set.status, set.text).toBe(200);
		expect(set.body).toMatchObject({ vendor_quotas: quotas, default_category: "transactional" });
		const bad: [unknown, string][] = [
			[{ nokia: { marketing_per_device_per_day: 1 } }, "vendor_quotas"],
			[{ vivo: { marketing_per_device_per_day: -1 } }, "marketing_per_device_per_day"],
			[{ vivo: { allowed_hours: { start: "7am", end: "23:00" } } }, "start"],
			[{ vivo: { allowed_hours: { start: "07:00", end: "07:00" } } }, "end"],
			[{ vivo: { outside_hours: "drop" } }, "outside_hours"],
			[{ vivo: { time_zone: "Mars/Olympus" } }, "time_zone"],
		];
		for (const [value, field] of bad) {
			const res = await call("PATCH", "/v1/settings", key, { vendor_quotas: value });
			expect(res.status, JSON.stringify(value)).toBe(400);
			expect(JSON.stringify(res.body.error.details)).toContain(field);
		}
		expect((await call("GET", "/v1/settings", key)).body.vendor_quotas).toEqual(quotas);
		const cleared = await call("PATCH", "/v1/settings", key, { vendor_quotas: null, default_category: null });
		expect(cleared.body.vendor_quotas).toBeUndefined();
		expect(cleared.body.default_category).toBeUndefined();
	});
});
