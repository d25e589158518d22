import { OpenAPIHono } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { HonoEnv } from "../../../workers/http/context.js";
import { appRoutes } from "../../../workers/routes/apps.js";
import { tagRoutes } from "../../../workers/routes/tags.js";
import { userRoutes } from "../../../workers/routes/users.js";
import { ADMIN, call, newApp, newKey } from "../http.js";
import { expectError } from "./helpers.js";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe("apps and keys", () => {
	it("POST /v1/apps creates an app with a first key holding every scope", async () => {
		const res = await call("POST", "/v1/apps", ADMIN, { name: "Acme" });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ name: "Acme", plan: "free", key: { scopes: ["send", "read", "manage"] } });
		expect(res.body.id).toMatch(/^app_/);
		expect(res.body.created_at).toMatch(ISO);
		expect(res.body.key.id).toMatch(/^key_/);
		expect(typeof res.body.key.secret).toBe("string");
		// The first key works at once.
		const put = await call("PUT", "/v1/users/u1", res.body.key.secret, {});
		expect(put.status).toBe(200);
	});

	it("POST /v1/apps keeps the plan it is given and trims the name", async () => {
		for (const plan of ["free", "standard", "pro", "enterprise"]) {
			const res = await call("POST", "/v1/apps", ADMIN, { name: `  ${plan} app  `, plan });
			expect(res.status).toBe(201);
			expect(res.body.plan).toBe(plan);
			expect(res.body.name).toBe(`${plan} app`);
		}
	});

	it("stores unicode and injection-looking names verbatim", async () => {
		const name = "Ω 北京 🚀 x' OR 1=1-- <script>";
		const res = await call("POST", "/v1/apps", ADMIN, { name });
		expect(res.status).toBe(201);
		const got = await call("GET", `/v1/apps/${res.body.id}`, ADMIN);
		expect(got.body.name).toBe(name);
	});

	it("GET /v1/apps/{appId} answers the app and its keys without any secret", async () => {
		const app = await newApp("Reader");
		const extra = await newKey(app.appId, ["read"], "ro");
		const res = await call("GET", `/v1/apps/${app.appId}`, ADMIN);
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id: app.appId, name: "Reader", plan: "free" });
		expect(res.body.keys).toHaveLength(2);
		const ids = res.body.keys.map((k: { id: string }) => k.id);
		expect(ids).toContain(app.keyId);
		expect(ids).toContain(extra.id);
		const ro = res.body.keys.find((k: { id: string }) => k.id === extra.id);
		expect(ro).toMatchObject({ name: "ro", scopes: ["read"], revoked_at: null });
		expect(res.text).not.toContain(app.key);
		expect(res.text).not.toContain(extra.secret);
		expect(res.text).not.toMatch(/secret|token_secret|hash/i);
	});

	it("GET /v1/apps/{appId} answers 404 for an unknown app", async () => {
		expectError(await call("GET", "/v1/apps/app_doesnotexist", ADMIN), 404, "not_found");
	});

	it("POST /v1/apps/{appId}/keys creates a key with the requested scopes, default all", async () => {
		const app = await newApp();
		const all = await call("POST", `/v1/apps/${app.appId}/keys`, ADMIN, { name: "backend" });
		expect(all.status).toBe(201);
		expect(all.body).toMatchObject({ name: "backend", scopes: ["send", "read", "manage"] });
		expect(all.body.id).toMatch(/^key_/);
		expect(all.body.secret).not.toBe(app.key);
		const some = await call("POST", `/v1/apps/${app.appId}/keys`, ADMIN, { name: "sender", scopes: ["send", "read"] });
		expect(some.status).toBe(201);
		expect(some.body.scopes).toEqual(["send", "read"]);
		expect((await call("GET", "/v1/users/nobody", all.body.secret)).status).toBe(404);
	});

	it("POST /v1/apps/{appId}/keys answers 404 for an unknown app", async () => {
		expectError(await call("POST", "/v1/apps/app_doesnotexist/keys", ADMIN, { name: "k" }), 404, "not_found");
	});

	it("DELETE /v1/apps/{appId}/keys/{keyId} revokes: the key fails with 401 on its next request, others keep working", async () => {
		const app = await newApp();
		const doomed = await newKey(app.appId);
		expect((await call("PUT", "/v1/users/u1", doomed.secret, {})).status).toBe(200);
		const del = await call("DELETE", `/v1/apps/${app.appId}/keys/${doomed.id}`, ADMIN);
		expect(del.status).toBe(204);
		expect(del.text).toBe("");
		for (const [method, path] of [
			["GET", "/v1/users/u1"],
			["PUT", "/v1/users/u1"],
			["GET", "/v1/tags"],
		] as const) {
			expectError(await call(method, path, doomed.secret, method === "PUT" ? {} : undefined), 401, "unauthorized");
		}
		expect((await call("GET", "/v1/users/u1", app.key)).status).toBe(200);
		const info = await call("GET", `/v1/apps/${app.appId}`, ADMIN);
		const revoked = info.body.keys.find((k: { id: string }) => k.id === doomed.id);
		expect(revoked.revoked_at).toMatch(ISO);
		// A revoked key is gone: revoking it again finds nothing.
		expectError(await call("DELETE", `/v1/apps/${app.appId}/keys/${doomed.id}`, ADMIN), 404, "not_found");
	});

	it("DELETE of an unknown key answers 404", async () => {
		const app = await newApp();
		expectError(await call("DELETE", `/v1/apps/${app.appId}/keys/key_000000000000`, ADMIN), 404, "not_found");
	});
});

describe("scopes", () => {
	type Route = { method: string; path: string; body?: unknown; scope: "send" | "read" | "manage" };
	const routes: Route[] = [
		{ method: "PUT", path: "/v1/users/u1", body: { attributes: { a: 1 } }, scope: "manage" },
		{ method: "GET", path: "/v1/users/u1", scope: "read" },
		{ method: "POST", path: "/v1/users/u1/devices", body: { id: "d9", platform: "web", channel: "ws" }, scope: "manage" },
		{ method: "DELETE", path: "/v1/users/u1/devices/d1", scope: "manage" },
		{ method: "POST", path: "/v1/users/u1/tokens", body: {}, scope: "manage" },
		{ method: "PUT", path: "/v1/users/u1/tags", body: { add: ["t2"] }, scope: "manage" },
		{ method: "POST", path: "/v1/tags/t1/users", body: { add: ["u2"] }, scope: "manage" },
		{ method: "GET", path: "/v1/tags", scope: "read" },
		{ method: "GET", path: "/v1/tags/t1/users", scope: "read" },
		{
			method: "POST",
			path: "/v1/messages",
			body: { audience: { users: ["u1"] }, content: { type: "text", body: "hi" } },
			scope: "send",
		},
		{ method: "GET", path: "/v1/messages/msg_unknown", scope: "read" },
		{ method: "GET", path: "/v1/messages/msg_unknown/recipients/u1", scope: "read" },
		{ method: "DELETE", path: "/v1/messages/msg_unknown", scope: "send" },
		{ method: "DELETE", path: "/v1/users/u1", scope: "manage" },
	];

	it("a key without a route's scope gets 403 forbidden; a key with only that scope gets through", async () => {
		const app = await newApp();
		const keys = {
			send: (await newKey(app.appId, ["send"])).secret,
			read: (await newKey(app.appId, ["read"])).secret,
			manage: (await newKey(app.appId, ["manage"])).secret,
			noSend: (await newKey(app.appId, ["read", "manage"])).secret,
			noRead: (await newKey(app.appId, ["send", "manage"])).secret,
			noManage: (await newKey(app.appId, ["send", "read"])).secret,
		};
		const without = { send: keys.noSend, read: keys.noRead, manage: keys.noManage };
		await call("PUT", "/v1/users/u1", app.key, {});
		await call("PUT", "/v1/users/u1/tags", app.key, { add: ["t1"] });
		await call("POST", "/v1/users/u1/devices", app.key, { id: "d1", platform: "web", channel: "ws" });
		for (const r of routes) {
			for (const key of [
				without[r.scope],
				...(["send", "read", "manage"] as const).filter((s) => s !== r.scope).map((s) => keys[s]),
			]) {
				const res = await call(r.method, r.path, key, r.body);
				expectError(res, 403, "forbidden");
			}
			const res = await call(r.method, r.path, keys[r.scope], r.body);
			expect(res.status, `${r.method} ${r.path}: ${res.text}`).not.toBe(403);
			expect(res.status, `${r.method} ${r.path}: ${res.text}`).toBeLessThan(500);
		}
	});

	it("the Bearer scheme is matched without regard to case", async () => {
		const app = await newApp();
		for (const scheme of ["bearer", "BEARER", "Bearer"]) {
			const res = await call("GET", "/v1/tags", null, undefined, { headers: { authorization: `${scheme} ${app.key}` } });
			expect(res.status, scheme).toBe(200);
		}
		const adminLower = await call("GET", `/v1/apps/${app.appId}`, null, undefined, {
			headers: { authorization: `bearer ${ADMIN}` },
		});
		expect(adminLower.status).toBe(200);
	});

	it("a read-only key can read but not write a user", async () => {
		const app = await newApp();
		await call("PUT", "/v1/users/u1", app.key, { attributes: { plan: "gold" } });
		const ro = await newKey(app.appId, ["read"]);
		expectError(await call("PUT", "/v1/users/u1", ro.secret, { attributes: { plan: "free" } }), 403, "forbidden");
		const got = await call("GET", "/v1/users/u1", ro.secret);
		expect(got.status).toBe(200);
		expect(got.body.attributes).toEqual({ plan: "gold" });
	});
});

describe("OpenAPI document", () => {
	it("documents every foundation route (apps, users, devices, tokens, tags)", async () => {
		// The foundation's routes alone, mounted the way createApp mounts them.
		const api = new OpenAPIHono<HonoEnv>();
		appRoutes(api);
		userRoutes(api);
		tagRoutes(api);
		api.doc31("/openapi.json", { openapi: "3.1.0", info: { title: "t", version: "1" } });
		const res = await api.request("/openapi.json");
		expect(res.status).toBe(200);
		const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
		const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
		expect(routes.sort()).toEqual(
			[
				"POST /v1/apps",
				"GET /v1/apps",
				"GET /v1/apps/{appId}",
				"POST /v1/apps/{appId}/keys",
				"DELETE /v1/apps/{appId}/keys/{keyId}",
				"PUT /v1/apps/{appId}/shards",
				"POST /v1/apps/{appId}/token-secret/rotate",
				"PUT /v1/users/{userId}",
				"GET /v1/users/{userId}",
				"DELETE /v1/users/{userId}",
				"POST /v1/users/{userId}/devices",
				"DELETE /v1/users/{userId}/devices/{deviceId}",
				"POST /v1/users/{userId}/tokens",
				"POST /v1/users/{userId}/tokens/revoke",
				"PUT /v1/users/{userId}/tags",
				"POST /v1/tags/{tag}/users",
				"GET /v1/tags",
				"GET /v1/tags/{tag}/users",
			].sort(),
		);
	});

	it("GET /v1/openapi.json serves the whole document and /docs renders it", async () => {
		const res = await call("GET", "/v1/openapi.json", null);
		expect(res.status, res.text).toBe(200);
		expect(res.body.openapi).toBe("3.1.0");
		for (const path of ["/v1/apps", "/v1/users/{userId}", "/v1/tags/{tag}/users", "/v1/messages"])
			expect(res.body.paths).toHaveProperty([path]);
		const docs = await call("GET", "/docs", null);
		expect(docs.status).toBe(200);
		expect(docs.headers.get("content-type")).toMatch(/text\/html/);
		expect(docs.text).toContain("/v1/openapi.json");
	});
});
