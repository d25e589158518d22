import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { MAX_DEVICES_PER_USER } from "../../protocol/limits.js";
import { AppError } from "../errors.js";
import type { Db } from "./client.js";
import { devices, users, userTags } from "./schema.js";

export type DeviceRow = typeof devices.$inferSelect;

/** The answer past the device limit, whether the device came through the API or a connect. */
export function tooManyDevices(path: string, max = MAX_DEVICES_PER_USER): AppError {
	return new AppError(
		"conflict",
		`The user already has ${max} devices; remove one (DELETE /v1/users/{id}/devices/{deviceId}) to add another.`,
		[{ path, message: `over ${max} devices per user` }],
	);
}

/** The device limit of an app: the hard one, or its plan's `devices_per_user` when smaller. */
export function maxDevices(planLimit: number | undefined): number {
	return Math.min(MAX_DEVICES_PER_USER, planLimit ?? MAX_DEVICES_PER_USER);
}

/** Whether one more device (not already registered) would take the user past the limit. */
export async function deviceLimitReached(
	d: Db,
	appId: string,
	userId: string,
	deviceId: string,
	max = MAX_DEVICES_PER_USER,
): Promise<boolean> {
	const rows = await d
		.select({ id: devices.id })
		.from(devices)
		.where(and(eq(devices.appId, appId), eq(devices.userId, userId)))
		.all();
	return rows.length >= max && !rows.some((r) => r.id === deviceId);
}

/** Insert the user row if it is missing; writes that name a user create it. */
export function ensureUser(d: Db, appId: string, userId: string, now: string) {
	return d.insert(users).values({ appId, id: userId, createdAt: now, updatedAt: now }).onConflictDoNothing();
}

/** Multi-row form of ensureUser, chunked under D1's 100 bound parameters per statement. */
export function ensureUsers(d: Db, appId: string, userIds: string[], now: string) {
	const statements = [];
	for (let i = 0; i < userIds.length; i += 20) {
		const part = userIds.slice(i, i + 20).map((id) => ({ appId, id, createdAt: now, updatedAt: now }));
		statements.push(d.insert(users).values(part).onConflictDoNothing());
	}
	return statements;
}

/**
 * Records a WebSocket device the first time it connects, only if its user exists: a client token
 * never creates a user (a deleted user's old tokens are refused by the shard before this).
 */
export async function registerWsDevice(
	d1: D1Database,
	appId: string,
	userId: string,
	deviceId: string,
	platform: string,
	now: string,
) {
	await d1
		.prepare(
			"INSERT INTO devices (app_id, user_id, id, platform, channel, created_at, updated_at) " +
				"SELECT app_id, id, ?, ?, 'ws', ?, ? FROM users WHERE app_id = ? AND id = ? ON CONFLICT DO NOTHING",
		)
		.bind(deviceId, platform, now, now, appId, userId)
		.run();
}

export function findUser(d: Db, appId: string, userId: string) {
	return d
		.select()
		.from(users)
		.where(and(eq(users.appId, appId), eq(users.id, userId)))
		.get();
}

export function userTagNames(d: Db, appId: string, userId: string) {
	return d
		.select({ tag: userTags.tag })
		.from(userTags)
		.where(and(eq(userTags.appId, appId), eq(userTags.userId, userId)))
		.orderBy(asc(userTags.tag))
		.all()
		.then((rows) => rows.map((r) => r.tag));
}

export function userDevices(d: Db, appId: string, userId: string) {
	return d
		.select()
		.from(devices)
		.where(and(eq(devices.appId, appId), eq(devices.userId, userId)))
		.orderBy(asc(devices.createdAt), asc(devices.id))
		.all();
}

/**
 * A device as the API shows it. Push tokens and the Web Push `auth` secret let anyone who holds
 * them push to the device (with the app's vendor credentials): only callers that may manage devices
 * see them whole; others see the last 4 characters.
 */
export function deviceView(row: DeviceRow, reveal = true) {
	const mask = (s: string) => `…${s.slice(-4)}`;
	const subscription =
		row.subscription && !reveal
			? { ...row.subscription, keys: { ...row.subscription.keys, auth: mask(row.subscription.keys.auth) } }
			: row.subscription;
	return {
		id: row.id,
		platform: row.platform,
		channel: row.channel,
		token: row.token !== null && !reveal ? mask(row.token) : row.token,
		subscription,
		status: row.status,
		last_error: row.lastError,
		created_at: row.createdAt,
		updated_at: row.updatedAt,
	};
}

/** Users among `ids` whose tag count would pass `max` after adding `adding` tags. */
export async function usersOverTagLimit(d: Db, appId: string, ids: string[], adding: (id: string) => number, max: number) {
	if (ids.length === 0) return [];
	const over: string[] = [];
	for (let i = 0; i < ids.length; i += 90) {
		const chunk = ids.slice(i, i + 90);
		const counts = await d
			.select({ userId: userTags.userId, n: sql<number>`count(*)` })
			.from(userTags)
			.where(and(eq(userTags.appId, appId), inArray(userTags.userId, chunk)))
			.groupBy(userTags.userId)
			.all();
		const byUser = new Map(counts.map((r) => [r.userId, r.n]));
		for (const id of chunk) if ((byUser.get(id) ?? 0) + adding(id) > max) over.push(id);
	}
	return over;
}
