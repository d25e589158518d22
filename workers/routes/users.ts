import { createRoute } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { appTokenKeys, signClientToken } from "../../core/auth/client-tokens.js";
import { randomId } from "../../core/auth/crypto.js";
import { vendorEndpoints } from "../../core/channels/endpoints.js";
import { checkWebPushEndpoint } from "../../core/channels/webpush/endpoint.js";
import { auditEntry, nowIso } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { devices, users, userTags } from "../../core/db/schema.js";
import {
	deviceLimitReached,
	deviceView,
	ensureUser,
	findUser,
	maxDevices,
	tooManyDevices,
	userDevices,
	userTagNames,
} from "../../core/db/users.js";
import { automationTimerFor } from "../../core/objects/automation-timer.js";
import { inboxFor } from "../../core/objects/shard.js";
import type { Api, HonoEnv } from "../http/context.js";
import { AppError, notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { ErrorSchema, json, jsonBody, standardErrors } from "../schemas/common.js";
import {
	ClientToken,
	CreateDeviceBody,
	CreateTokenBody,
	Device,
	DeviceParam,
	MAX_ATTRIBUTES_BYTES,
	PutUserBody,
	TokensRevoked,
	User,
	UserIdParam,
} from "../schemas/users.js";

/** Optimistic merges of one user's attributes before giving up with 409. */
const MAX_MERGE_ATTEMPTS = 30;
const TAG = "Users, devices, tokens";

const putUser = createRoute({
	...appKeyRoute(TAG, "put", "/v1/users/{userId}", "manage"),
	summary: "Create or update a user (attributes merged; null deletes one)",
	request: { params: UserIdParam, ...jsonBody(PutUserBody, false) },
	responses: {
		200: json(User, "The user."),
		409: json(ErrorSchema, "The user kept changing under concurrent requests; nothing was written, retry."),
		...standardErrors,
	},
});

const getUser = createRoute({
	...appKeyRoute(TAG, "get", "/v1/users/{userId}", "read"),
	summary: "A user with tags, devices and open sessions",
	request: { params: UserIdParam },
	responses: { 200: json(User, "The user."), ...standardErrors },
});

const deleteUser = createRoute({
	...appKeyRoute(TAG, "delete", "/v1/users/{userId}", "manage"),
	summary: "Erase a user: attributes, tags, devices and inbox",
	request: { params: UserIdParam },
	responses: { 204: { description: "Erased." }, ...standardErrors },
});

const createDevice = createRoute({
	...appKeyRoute(TAG, "post", "/v1/users/{userId}/devices", "manage"),
	summary: "Register (or re-register) a device",
	request: { params: UserIdParam, ...jsonBody(CreateDeviceBody) },
	responses: { 201: json(Device, "The device."), ...standardErrors },
});

const deleteDevice = createRoute({
	...appKeyRoute(TAG, "delete", "/v1/users/{userId}/devices/{deviceId}", "manage"),
	summary: "Remove a device",
	request: { params: DeviceParam },
	responses: { 204: { description: "Removed." }, ...standardErrors },
});

const createToken = createRoute({
	...appKeyRoute(TAG, "post", "/v1/users/{userId}/tokens", "manage"),
	summary: "Mint a client token (JWT) for this user's devices",
	request: { params: UserIdParam, ...jsonBody(CreateTokenBody, false) },
	responses: { 201: json(ClientToken, "The token."), ...standardErrors },
});

const revokeTokens = createRoute({
	...appKeyRoute(TAG, "post", "/v1/users/{userId}/tokens/revoke", "manage"),
	summary: "Revoke every client token of this user minted until now; their open sockets are closed (4001)",
	request: { params: UserIdParam },
	responses: { 200: json(TokensRevoked, "Revoked."), ...standardErrors },
});

async function userView(c: Context<HonoEnv>, appId: string, userId: string) {
	const d = db(c.env);
	const [user, tagNames, deviceRows, online] = await Promise.all([
		findUser(d, appId, userId),
		userTagNames(d, appId, userId),
		userDevices(d, appId, userId),
		inboxFor(c.env, appId, userId).presence(),
	]);
	if (!user) throw notFound("user");
	return {
		id: user.id,
		attributes: user.attributes,
		locale: user.locale,
		timezone: user.timezone,
		tags: tagNames,
		devices: deviceRows.map((row) => deviceView(row, c.get("caller").scopes.includes("manage"))),
		online,
		created_at: user.createdAt,
		updated_at: user.updatedAt,
	};
}

export function userRoutes(api: Api) {
	api.openapi(putUser, async (c) => {
		const { userId } = c.req.valid("param");
		const body = c.req.valid("json");
		const { appId } = c.get("caller");
		const d = db(c.env);
		// Read, merge, then write only if the row is still what was read: concurrent merges of
		// different attributes must all survive, so a lost race merges again on the fresh row.
		for (let attempt = 0; attempt < MAX_MERGE_ATTEMPTS; attempt++) {
			// Lost races back off a little, with jitter, so contenders do not collide again in step.
			if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt, 10) * 5));
			const now = nowIso();
			const existing = await findUser(d, appId, userId);
			const attributes: Record<string, unknown> = existing ? { ...existing.attributes } : {};
			for (const [k, v] of Object.entries(body.attributes ?? {})) {
				if (v === null) delete attributes[k];
				else attributes[k] = v;
			}
			if (new TextEncoder().encode(JSON.stringify(attributes)).byteLength > MAX_ATTRIBUTES_BYTES) {
				throw new AppError("payload_too_large", "A user's attributes may hold at most 16 KiB of JSON.", [
					{ path: "attributes", message: "over 16 KiB after merge" },
				]);
			}
			const locale = body.locale === undefined ? (existing?.locale ?? null) : body.locale;
			const timezone = body.timezone === undefined ? (existing?.timezone ?? null) : body.timezone;
			const written = existing
				? await d
						.update(users)
						.set({ attributes, locale, timezone, updatedAt: now })
						.where(
							and(
								eq(users.appId, appId),
								eq(users.id, userId),
								eq(users.attributes, existing.attributes),
								sql`${users.locale} IS ${existing.locale}`,
								sql`${users.timezone} IS ${existing.timezone}`,
							),
						)
						.returning({ id: users.id })
				: await d
						.insert(users)
						.values({ appId, id: userId, attributes, locale, timezone, createdAt: now, updatedAt: now })
						.onConflictDoNothing()
						.returning({ id: users.id });
			if (written.length > 0) return c.json(await userView(c, appId, userId), 200);
		}
		throw new AppError("conflict", "The user is being changed by other requests right now; retry.", [
			{ path: "", message: "concurrent updates" },
		]);
	});

	api.openapi(getUser, async (c) => {
		const { userId } = c.req.valid("param");
		return c.json(await userView(c, c.get("caller").appId, userId), 200);
	});

	api.openapi(deleteUser, async (c) => {
		const { userId } = c.req.valid("param");
		const caller = c.get("caller");
		const d = db(c.env);
		if (!(await findUser(d, caller.appId, userId))) throw notFound("user");
		// Waiting automation sends first (they would bring the inbox back), then the inbox: if either
		// fails, the user row is still there and the call can be retried.
		await automationTimerFor(c.env, caller.appId, userId).forget();
		await inboxFor(c.env, caller.appId, userId).erase();
		await d.batch([
			d.delete(userTags).where(and(eq(userTags.appId, caller.appId), eq(userTags.userId, userId))),
			d.delete(devices).where(and(eq(devices.appId, caller.appId), eq(devices.userId, userId))),
			d.delete(users).where(and(eq(users.appId, caller.appId), eq(users.id, userId))),
			auditEntry(d, caller, caller.appId, "user.delete", userId),
		]);
		return c.body(null, 204);
	});

	api.openapi(createDevice, async (c) => {
		const { userId } = c.req.valid("param");
		const body = c.req.valid("json");
		const caller = c.get("caller");
		const d = db(c.env);
		const now = nowIso();
		if (body.subscription) {
			const endpoints = vendorEndpoints(c.env);
			const problem = checkWebPushEndpoint(body.subscription.endpoint, endpoints.allowLocalWebPush, endpoints.webPushHosts);
			if (problem) throw new AppError("invalid_request", problem, [{ path: "subscription.endpoint", message: problem }]);
		}
		const id = body.id ?? randomId("dev");
		const max = maxDevices(caller.app?.plan?.limits.devices_per_user);
		if (await deviceLimitReached(d, caller.appId, userId, id, max)) throw tooManyDevices("id", max);
		const values = {
			platform: body.platform,
			channel: body.channel,
			token: body.token ?? null,
			subscription: body.subscription ?? null,
			status: "active" as const,
			lastError: null,
			updatedAt: now,
		};
		const [, [row]] = await d.batch([
			ensureUser(d, caller.appId, userId, now),
			d
				.insert(devices)
				.values({ appId: caller.appId, userId, id, createdAt: now, ...values })
				.onConflictDoUpdate({ target: [devices.appId, devices.userId, devices.id], set: values })
				.returning(),
			auditEntry(d, caller, caller.appId, "device.register", `${userId}/${id}`),
		]);
		if (!row) throw new Error("device upsert returned no row");
		return c.json(deviceView(row), 201);
	});

	api.openapi(deleteDevice, async (c) => {
		const { userId, deviceId } = c.req.valid("param");
		const caller = c.get("caller");
		const d = db(c.env);
		const where = and(eq(devices.appId, caller.appId), eq(devices.userId, userId), eq(devices.id, deviceId));
		const found = await d.select({ id: devices.id }).from(devices).where(where).get();
		if (!found) throw notFound("device");
		await d.batch([
			d.delete(devices).where(where),
			auditEntry(d, caller, caller.appId, "device.delete", `${userId}/${deviceId}`),
		]);
		// A removed device must not hold messages in the inbox waiting for its ack.
		await inboxFor(c.env, caller.appId, userId).forgetDevice(deviceId);
		return c.body(null, 204);
	});

	api.openapi(revokeTokens, async (c) => {
		const { userId } = c.req.valid("param");
		const caller = c.get("caller");
		const d = db(c.env);
		if (!(await findUser(d, caller.appId, userId))) throw notFound("user");
		const before = Date.now();
		// The user's shard refuses older tokens at connect and closes the sockets they opened.
		await inboxFor(c.env, caller.appId, userId).revokeTokens(before);
		await auditEntry(d, caller, caller.appId, "user.tokens.revoke", userId);
		return c.json({ user_id: userId, revoked_before: new Date(before).toISOString() }, 200);
	});

	api.openapi(createToken, async (c) => {
		const { userId } = c.req.valid("param");
		const body = c.req.valid("json");
		const { appId } = c.get("caller");
		const d = db(c.env);
		const keys = await appTokenKeys(c.env, appId);
		if (!keys) throw notFound("app");
		await ensureUser(d, appId, userId, nowIso());
		return c.json(await signClientToken(keys.current.secret, appId, userId, body.ttl_seconds ?? 3600, keys.current.kid), 201);
	});
}
