import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { mintAppKey } from "../../core/auth/app-keys.js";
import { auditEntry, nowIso } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { apiKeys } from "../../core/db/schema.js";
import { ALL_SCOPES, type Api } from "../http/context.js";
import { notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { CreateKeyBody, KeyInfo, NewKey } from "../schemas/apps.js";
import { Id, json, jsonBody, standardErrors } from "../schemas/common.js";

/** The app's own keys, for a `manage` key (the console's API keys page); the admin has /v1/apps/{appId}/keys. */

const KeyList = z.object({ keys: z.array(KeyInfo) }).openapi("KeyList");

const listKeys = createRoute({
	...appKeyRoute("Apps and keys", "get", "/v1/keys", "read"),
	summary: "The app's keys, without secrets (revoked ones included)",
	responses: { 200: json(KeyList, "The keys in creation order."), ...standardErrors },
});

const createKey = createRoute({
	...appKeyRoute("Apps and keys", "post", "/v1/keys", "manage"),
	summary: "Create a key of this app",
	request: jsonBody(CreateKeyBody),
	responses: { 201: json(NewKey, "The key; its secret is shown only here."), ...standardErrors },
});

const revokeKey = createRoute({
	...appKeyRoute("Apps and keys", "delete", "/v1/keys/{id}", "manage"),
	summary: "Revoke a key of this app: it fails with 401 from the next request on",
	request: { params: z.object({ id: Id }) },
	responses: { 204: { description: "Revoked." }, ...standardErrors },
});

export function keyRoutes(api: Api) {
	api.openapi(listKeys, async (c) => {
		const rows = await db(c.env)
			.select()
			.from(apiKeys)
			.where(eq(apiKeys.appId, c.get("caller").appId))
			.orderBy(apiKeys.createdAt)
			.all();
		const keys = rows.map((k) => ({
			id: k.id,
			name: k.name,
			scopes: k.scopes,
			created_at: k.createdAt,
			revoked_at: k.revokedAt,
		}));
		return c.json({ keys }, 200);
	});

	api.openapi(createKey, async (c) => {
		const body = c.req.valid("json");
		const caller = c.get("caller");
		const d = db(c.env);
		const scopes = body.scopes ?? ALL_SCOPES;
		const now = nowIso();
		const { row, secret } = await mintAppKey(caller.appId, body.name, scopes, now);
		await d.batch([d.insert(apiKeys).values(row), auditEntry(d, caller, caller.appId, "key.create", row.id)]);
		return c.json({ id: row.id, name: row.name, secret, scopes, created_at: now }, 201);
	});

	api.openapi(revokeKey, async (c) => {
		const { id } = c.req.valid("param");
		const caller = c.get("caller");
		const d = db(c.env);
		const key = await d
			.select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt })
			.from(apiKeys)
			.where(and(eq(apiKeys.id, id), eq(apiKeys.appId, caller.appId)))
			.get();
		if (!key || key.revokedAt) throw notFound("key");
		await d.batch([
			d
				.update(apiKeys)
				.set({ revokedAt: nowIso() })
				.where(and(eq(apiKeys.id, id), eq(apiKeys.appId, caller.appId))),
			auditEntry(d, caller, caller.appId, "key.revoke", id),
		]);
		return c.body(null, 204);
	});
}
