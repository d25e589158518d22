import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { resealSecrets } from "../../../core/credentials/rotate.js";
import { loadCredentials, saveCredentials } from "../../../core/credentials/store.js";
import { call, clientToken, newApp } from "../http.js";
import { rotatedKeyEnv } from "./helpers.js";

describe("rotating ENCRYPTION_KEY", () => {
	it("is an admin-only route", async () => {
		const { key } = await newApp("rotate-auth");
		expect((await call("POST", "/v1/admin/rotate-encryption", key)).status).toBe(401);
		const ok = await call("POST", "/v1/admin/rotate-encryption", "test-admin-token");
		expect(ok.status).toBe(200);
		expect(ok.body).toMatchObject({ version: 1, apps: 0, credentials: 0, unreadable: [] });
	});
	it("re-seals app secrets under the new key; tokens minted before still verify, old-key records keep opening meanwhile", async () => {
		const { appId, key } = await newApp("rotate");
		const before = await clientToken(key, "u1");
		const rotated = rotatedKeyEnv();
		const first = await resealSecrets(rotated);
		expect(first.version).toBe(2);
		expect(first.apps).toBeGreaterThanOrEqual(1);
		const row = await env.DB.prepare("SELECT token_secret FROM apps WHERE id = ?").bind(appId).first<{ token_secret: string }>();
		expect(JSON.parse(row?.token_secret ?? "{}").v).toBe(2);
		// Idempotent: nothing left to do.
		expect(await resealSecrets(rotated)).toMatchObject({ apps: 0, credentials: 0, unreadable: [] });
		// The old key alone can no longer open the record; the new one can (through the keyring).
		const { unsealSecret } = await import("../../../core/auth/keyring.js");
		await expect(unsealSecret(env, row?.token_secret ?? "")).rejects.toThrow();
		expect((await unsealSecret(rotated, row?.token_secret ?? "")).length).toBeGreaterThan(0);
		expect(before.split(".")).toHaveLength(3);
	});

	it("a credential written while the rotation runs is kept, not overwritten by the re-sealed old one", async () => {
		const { appId, key } = await newApp("rotate-race");
		const old = { app_secret: "old-secret==", package_name: "com.example.app" };
		const fresh = { app_secret: "new-secret==", package_name: "com.example.app" };
		expect((await call("PUT", "/v1/credentials/xiaomi", key, old)).status).toBe(200);
		const rotated = rotatedKeyEnv();
		// The PUT lands between the rotation's read of the row and its write.
		let raced = false;
		const racing = (stmt: D1PreparedStatement): D1PreparedStatement =>
			new Proxy(stmt, {
				get(target, prop) {
					if (prop === "bind") return (...args: unknown[]) => racing(target.bind(...args));
					if (prop === "run" || prop === "all" || prop === "raw" || prop === "first") {
						return async (...args: unknown[]) => {
							if (!raced) {
								raced = true;
								await saveCredentials(rotated, appId, "xiaomi", fresh, {}, new Date().toISOString(), 2);
							}
							return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
						};
					}
					const value = Reflect.get(target, prop);
					return typeof value === "function" ? value.bind(target) : value;
				},
			});
		const db = new Proxy(env.DB, {
			get(target, prop) {
				if (prop === "prepare") {
					return (sql: string) => (/^update "credentials"/i.test(sql) ? racing(target.prepare(sql)) : target.prepare(sql));
				}
				const value = Reflect.get(target, prop);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		await resealSecrets({ ...rotated, DB: db });
		expect(raced).toBe(true);
		const stored = await loadCredentials(rotated, appId, "xiaomi");
		expect(stored).toMatchObject(fresh);
	});
});
