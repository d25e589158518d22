import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { growShards as growAppShards } from "../../core/apps/shards.js";
import { DEFAULT_OVERLAP_SECONDS, rotateTokenSecret as rotateAppTokenSecret } from "../../core/apps/token-secret.js";
import { mintAppKey } from "../../core/auth/app-keys.js";
import { randomBytes, randomId, toBase64Url } from "../../core/auth/crypto.js";
import { sealSecret } from "../../core/auth/keyring.js";
import { auditEntry, nowIso } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { apiKeys, apps } from "../../core/db/schema.js";
import { ALL_SCOPES, type Api } from "../http/context.js";
import { notFound } from "../http/errors.js";
import {
	AppIdParam,
	AppInfo,
	AppList,
	CreateAppBody,
	CreatedApp,
	CreateKeyBody,
	GrowShardsBody,
	KeyIdParam,
	NewKey,
	RotateTokenSecretBody,
	ShardGrowth,
	TokenSecretRotated,
} from "../schemas/apps.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";

const security = [{ adminToken: [] }];
/** The app list is for people picking an app in the console; a deployment with more apps pages by id later. */
const MAX_LISTED_APPS = 1000;
const tags = ["Apps and keys"];

const createApp = createRoute({
	method: "post",
	path: "/v1/apps",
	tags,
	security,
	summary: "Create an app with its first key (all scopes)",
	request: jsonBody(CreateAppBody),
	responses: { 201: json(CreatedApp, "The app; the key's secret is shown only here."), ...standardErrors },
});

const listApps = createRoute({
	method: "get",
	path: "/v1/apps",
	tags,
	security,
	summary: "Every app of the deployment (the console's app list), newest first, without keys",
	responses: { 200: json(AppList, "Up to 1,000 apps."), ...standardErrors },
});

const getApp = createRoute({
	method: "get",
	path: "/v1/apps/{appId}",
	tags,
	security,
	summary: "An app and its keys, without secrets",
	request: { params: AppIdParam },
	responses: { 200: json(AppInfo, "The app."), ...standardErrors },
});

const growShards = createRoute({
	method: "put",
	path: "/v1/apps/{appId}/shards",
	tags,
	security,
	summary: "Grow the app's shards: users move to the new shards with their inboxes; nothing is lost or repeated",
	request: { params: AppIdParam, ...jsonBody(GrowShardsBody) },
	responses: { 200: json(ShardGrowth, "Every shard holds its users."), ...standardErrors },
});

const rotateTokenSecret = createRoute({
	method: "post",
	path: "/v1/apps/{appId}/token-secret/rotate",
	tags,
	security,
	summary: "Rotate the app's client-token signing secret; tokens of the old one verify during an overlap",
	request: { params: AppIdParam, ...jsonBody(RotateTokenSecretBody, false) },
	responses: { 200: json(TokenSecretRotated, "Rotated."), ...standardErrors },
});

const createKey = createRoute({
	method: "post",
	path: "/v1/apps/{appId}/keys",
	tags,
	security,
	summary: "Create an app key",
	request: { params: AppIdParam, ...jsonBody(CreateKeyBody) },
	responses: { 201: json(NewKey, "The key; its secret is shown only here."), ...standardErrors },
});

const revokeKey = createRoute({
	method: "delete",
	path: "/v1/apps/{appId}/keys/{keyId}",
	tags,
	security,
	summary: "Revoke a key: it fails with 401 from the next request on",
	request: { params: KeyIdParam },
	responses: { 204: { description: "Revoked." }, ...standardErrors },
});

export function appRoutes(api: Api) {
	api.openapi(createApp, async (c) => {
		const body = c.req.valid("json");
		const d = db(c.env);
		const now = nowIso();
		const appId = randomId("app");
		const tokenSecret = await sealSecret(c.env, toBase64Url(randomBytes(32)));
		const plan = body.plan ?? "free";
		const { row, secret } = await mintAppKey(appId, "default", ALL_SCOPES, now);
		await d.batch([
			d.insert(apps).values({ id: appId, name: body.name, plan, tokenSecret, createdAt: now }),
			d.insert(apiKeys).values(row),
			auditEntry(d, c.get("caller"), appId, "app.create", appId),
		]);
		return c.json(
			{
				id: appId,
				name: body.name,
				plan,
				created_at: now,
				key: { id: row.id, name: row.name, secret, scopes: ALL_SCOPES, created_at: now },
			},
			201,
		);
	});

	api.openapi(listApps, async (c) => {
		const rows = await db(c.env)
			.select({ id: apps.id, name: apps.name, plan: apps.plan, createdAt: apps.createdAt })
			.from(apps)
			.orderBy(desc(apps.createdAt))
			.limit(MAX_LISTED_APPS)
			.all();
		return c.json({ apps: rows.map((a) => ({ id: a.id, name: a.name, plan: a.plan, created_at: a.createdAt })) }, 200);
	});

	api.openapi(getApp, async (c) => {
		const { appId } = c.req.valid("param");
		const d = db(c.env);
		const app = await d.select().from(apps).where(eq(apps.id, appId)).get();
		if (!app) throw notFound("app");
		const keys = await d.select().from(apiKeys).where(eq(apiKeys.appId, appId)).orderBy(apiKeys.createdAt).all();
		return c.json(
			{
				id: app.id,
				name: app.name,
				plan: app.plan,
				created_at: app.createdAt,
				shard_count: app.shardCount,
				plan_id: app.planId,
				keys: keys.map((k) => ({
					id: k.id,
					name: k.name,
					scopes: k.scopes,
					created_at: k.createdAt,
					revoked_at: k.revokedAt,
				})),
			},
			200,
		);
	});

	api.openapi(growShards, async (c) => {
		const { appId } = c.req.valid("param");
		return c.json(await growAppShards(c.env, c.get("caller"), appId, c.req.valid("json").count), 200);
	});

	api.openapi(rotateTokenSecret, async (c) => {
		const { appId } = c.req.valid("param");
		const overlap = c.req.valid("json")?.overlap_seconds ?? DEFAULT_OVERLAP_SECONDS;
		return c.json(await rotateAppTokenSecret(c.env, c.get("caller"), appId, overlap), 200);
	});

	api.openapi(createKey, async (c) => {
		const { appId } = c.req.valid("param");
		const body = c.req.valid("json");
		const d = db(c.env);
		const app = await d.select({ id: apps.id }).from(apps).where(eq(apps.id, appId)).get();
		if (!app) throw notFound("app");
		const scopes = body.scopes ?? ALL_SCOPES;
		const now = nowIso();
		const { row, secret } = await mintAppKey(appId, body.name, scopes, now);
		await d.batch([d.insert(apiKeys).values(row), auditEntry(d, c.get("caller"), appId, "key.create", row.id)]);
		return c.json({ id: row.id, name: row.name, secret, scopes, created_at: now }, 201);
	});

	api.openapi(revokeKey, async (c) => {
		const { appId, keyId } = c.req.valid("param");
		const d = db(c.env);
		const key = await d
			.select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt })
			.from(apiKeys)
			.where(and(eq(apiKeys.id, keyId), eq(apiKeys.appId, appId)))
			.get();
		if (!key || key.revokedAt) throw notFound("key");
		await d.batch([
			d.update(apiKeys).set({ revokedAt: nowIso() }).where(eq(apiKeys.id, keyId)),
			auditEntry(d, c.get("caller"), appId, "key.revoke", keyId),
		]);
		return c.body(null, 204);
	});
}
