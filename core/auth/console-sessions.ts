import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { apiKeys, apps, consoleSessions } from "../db/schema.js";
import type { CallerApp, Scope } from "./caller.js";
import { randomBytes, sha256, toBase64Url, toHex } from "./crypto.js";

/**
 * Web console sessions: an opaque random id in an HttpOnly cookie, exchanged once for the admin token
 * or an app key. Only the id's hash is stored, so a read of D1 yields no usable session.
 */

/** How long a console session lasts; signing in again starts a new one. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;

export type SessionKind = "admin" | "app";

export interface ConsoleSession {
	kind: SessionKind;
	/** App-key sessions: the key's app, its id, scopes and settings as read on this request. */
	appId?: string;
	keyId?: string;
	scopes?: Scope[];
	app?: CallerApp;
	expiresAt: number;
}

const hashId = async (id: string) => toHex(await sha256(`console-session:${id}`));

/** An admin session remembers which admin token made it: changing ADMIN_TOKEN ends every admin session. */
const adminFingerprint = async (adminToken: string) => `admin:${toHex(await sha256(`console-admin:${adminToken}`)).slice(0, 32)}`;

/** The CSRF token of a session: derived from its id, so it needs no storage and dies with the session. */
export async function csrfTokenFor(sessionId: string): Promise<string> {
	return toBase64Url((await sha256(`console-csrf:${sessionId}`)).slice(0, 24));
}

/** Starts a session; expired sessions are swept at the same time (sign-ins are rare, the sweep is one indexed delete). */
export async function createSession(
	db: Db,
	who: { kind: "admin"; adminToken: string } | { kind: "app"; appId: string; keyId: string },
	now = Date.now(),
): Promise<{ id: string; expiresAt: number }> {
	const id = toBase64Url(randomBytes(32));
	const expiresAt = now + SESSION_TTL_MS;
	await db.batch([
		db.delete(consoleSessions).where(lt(consoleSessions.expiresAt, now)),
		db.insert(consoleSessions).values({
			idHash: await hashId(id),
			kind: who.kind,
			appId: who.kind === "app" ? who.appId : null,
			keyId: who.kind === "app" ? who.keyId : await adminFingerprint(who.adminToken),
			createdAt: new Date(now).toISOString(),
			expiresAt,
		}),
	]);
	return { id, expiresAt };
}

/**
 * The live session for a cookie value, or undefined when it is unknown, expired, or its app key was
 * revoked since (the key is read with the session, so revocation applies at once).
 */
export async function findSession(
	db: Db,
	id: string,
	adminToken: string | undefined,
	now = Date.now(),
): Promise<ConsoleSession | undefined> {
	if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
	const row = await db
		.select({
			kind: consoleSessions.kind,
			appId: consoleSessions.appId,
			keyId: consoleSessions.keyId,
			expiresAt: consoleSessions.expiresAt,
			scopes: apiKeys.scopes,
			revokedAt: apiKeys.revokedAt,
			settings: apps.settings,
			shardCount: apps.shardCount,
		})
		.from(consoleSessions)
		.leftJoin(apiKeys, and(eq(apiKeys.id, consoleSessions.keyId), eq(apiKeys.appId, consoleSessions.appId)))
		.leftJoin(apps, eq(apps.id, consoleSessions.appId))
		.where(eq(consoleSessions.idHash, await hashId(id)))
		.get();
	if (!row || row.expiresAt <= now) return undefined;
	if (row.kind === "admin") {
		const current = adminToken ? await adminFingerprint(adminToken) : undefined;
		return current !== undefined && row.keyId === current ? { kind: "admin", expiresAt: row.expiresAt } : undefined;
	}
	if (!row.appId || !row.keyId || !row.scopes || row.revokedAt || row.settings === null || row.shardCount === null) {
		return undefined;
	}
	return {
		kind: "app",
		appId: row.appId,
		keyId: row.keyId,
		scopes: row.scopes,
		app: { settings: row.settings, shardCount: row.shardCount },
		expiresAt: row.expiresAt,
	};
}

/** Ends a session (sign-out): the cookie's id no longer opens anything. */
export async function deleteSession(db: Db, id: string): Promise<void> {
	await db.delete(consoleSessions).where(eq(consoleSessions.idHash, await hashId(id)));
}

/** An app's settings and shard count, for an admin session acting on one app from the console. */
export async function appForAdmin(db: Db, appId: string): Promise<CallerApp | undefined> {
	const row = await db
		.select({ settings: apps.settings, shardCount: apps.shardCount })
		.from(apps)
		.where(eq(apps.id, appId))
		.get();
	return row ?? undefined;
}
