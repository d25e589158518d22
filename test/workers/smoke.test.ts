import { describe, expect, it } from "vitest";
import { ADMIN, call } from "./http.js";

describe("smoke", () => {
	it("creates an app and reads it back", async () => {
		const created = await call("POST", "/v1/apps", ADMIN, { name: "Acme" });
		expect(created.status, created.text).toBe(201);
		const app = created.body as { id: string; name: string; key: { id: string; secret: string } };
		expect(app.name).toBe("Acme");

		const readApp = await call("GET", `/v1/apps/${app.id}`, ADMIN);
		expect(readApp.status, readApp.text).toBe(200);
		expect(readApp.body).toMatchObject({ id: app.id, name: "Acme" });
		expect(readApp.body.keys.map((k: { id: string }) => k.id)).toEqual([app.key.id]);

		const put = await call("PUT", "/v1/users/u1", app.key.secret, { attributes: { a: 1 }, timezone: "Asia/Shanghai" });
		expect(put.status, put.text).toBe(200);
		expect(put.body).toMatchObject({ id: "u1", attributes: { a: 1 }, timezone: "Asia/Shanghai", online: 0 });

		// What was written is what a later read answers, not just what the write echoed.
		const readUser = await call("GET", "/v1/users/u1", app.key.secret);
		expect(readUser.status, readUser.text).toBe(200);
		expect(readUser.body).toMatchObject({ id: "u1", attributes: { a: 1 }, timezone: "Asia/Shanghai", online: 0 });
		expect(readUser.body.attributes).toEqual({ a: 1 });
	});
});
