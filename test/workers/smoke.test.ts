import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
	it("creates an app and reads it back", async () => {
		const res = await exports.default.fetch("http://x/v1/apps", {
			method: "POST",
			headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
			body: JSON.stringify({ name: "Acme" }),
		});
		expect(res.status).toBe(201);
		const app = (await res.json()) as { id: string; key: { secret: string } };
		const put = await exports.default.fetch("http://x/v1/users/u1", {
			method: "PUT",
			headers: { authorization: `Bearer ${app.key.secret}` },
			body: JSON.stringify({ attributes: { a: 1 }, timezone: "Asia/Shanghai" }),
		});
		expect(put.status).toBe(200);
		expect(await put.json()).toMatchObject({ id: "u1", attributes: { a: 1 }, online: 0 });
	});
});
