import { and, eq } from "drizzle-orm";
import { sealSecret, unsealSecret } from "../auth/keyring.js";
import type { VendorChannelId } from "../channels/types.js";
import { db } from "../db/client.js";
import { credentials } from "../db/schema.js";

export type CredentialRow = typeof credentials.$inferSelect;

export async function saveCredentials(
	env: Env,
	appId: string,
	channel: VendorChannelId,
	value: unknown,
	masked: Record<string, string>,
	now: string,
	keyVersion: number,
) {
	const sealed = await sealSecret(env, JSON.stringify(value));
	const row = {
		appId,
		channel,
		sealed,
		keyVersion,
		masked: JSON.stringify(masked),
		status: "active" as const,
		configuredAt: now,
		tokenRefreshedAt: null,
		tokenExpiresAt: null,
		lastError: null,
	};
	await db(env)
		.insert(credentials)
		.values(row)
		.onConflictDoUpdate({ target: [credentials.appId, credentials.channel], set: row });
	return row;
}

export function findCredentialRow(env: Env, appId: string, channel: VendorChannelId) {
	return db(env)
		.select()
		.from(credentials)
		.where(and(eq(credentials.appId, appId), eq(credentials.channel, channel)))
		.get();
}

export function listCredentialRows(env: Env, appId: string) {
	return db(env).select().from(credentials).where(eq(credentials.appId, appId)).orderBy(credentials.channel).all();
}

/** The decrypted credentials of one channel, or undefined when the app has none. */
export async function loadCredentials<T>(env: Env, appId: string, channel: VendorChannelId): Promise<T | undefined> {
	const row = await findCredentialRow(env, appId, channel);
	return row ? unsealCredentials<T>(env, row) : undefined;
}

export async function unsealCredentials<T>(env: Env, row: CredentialRow): Promise<T> {
	return JSON.parse(await unsealSecret(env, row.sealed)) as T;
}

export async function recordTokenStatus(
	env: Env,
	appId: string,
	channel: VendorChannelId,
	status: { refreshedAt?: number; expiresAt?: number; error?: string | null },
) {
	await db(env)
		.update(credentials)
		.set({
			...(status.refreshedAt ? { tokenRefreshedAt: new Date(status.refreshedAt).toISOString() } : {}),
			...(status.expiresAt ? { tokenExpiresAt: new Date(status.expiresAt).toISOString() } : {}),
			lastError: status.error ?? null,
			status: status.error ? "error" : "active",
		})
		.where(and(eq(credentials.appId, appId), eq(credentials.channel, channel)));
}

/** The public view: never a secret, only ids, fingerprints and token health. */
export function credentialView(row: CredentialRow) {
	return {
		channel: row.channel,
		configured_at: row.configuredAt,
		status: row.status,
		masked: JSON.parse(row.masked) as Record<string, string>,
		token: {
			last_refresh_at: row.tokenRefreshedAt,
			expires_at: row.tokenExpiresAt,
			last_error: row.lastError,
		},
	};
}
