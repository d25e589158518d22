import { and, eq } from "drizzle-orm";
import { sealSecret, unsealSecret } from "../auth/keyring.js";
import type { ApnsCredentials } from "../channels/apns/credentials.js";
import type { FcmCredentials } from "../channels/fcm/credentials.js";
import type { HmsCredentials } from "../channels/hms/credentials.js";
import type { HonorCredentials } from "../channels/honor/credentials.js";
import type { MeizuCredentials } from "../channels/meizu/credentials.js";
import type { OppoCredentials } from "../channels/oppo/credentials.js";
import type { VendorChannelId } from "../channels/types.js";
import type { VivoCredentials } from "../channels/vivo/credentials.js";
import type { StoredWebPushCredentials } from "../channels/webpush/credentials.js";
import type { XiaomiCredentials } from "../channels/xiaomi/credentials.js";
import { db } from "../db/client.js";
import { credentials } from "../db/schema.js";
import { jsonCodec } from "../util/json-codec.js";
import { emitWebhookEvent } from "../webhooks/emit.js";

export type CredentialRow = typeof credentials.$inferSelect;

/** What `credentials.sealed` holds once unsealed, per channel: the channel's validated, completed credentials. */
export interface StoredCredentials {
	apns: ApnsCredentials;
	fcm: FcmCredentials;
	hms: HmsCredentials;
	xiaomi: XiaomiCredentials;
	webpush: StoredWebPushCredentials;
	oppo: OppoCredentials;
	vivo: VivoCredentials;
	honor: HonorCredentials;
	meizu: MeizuCredentials;
}

/** Read side of the sealed JSON; the write side takes whichever channel's credentials the route validated. */
const CredentialsJson = jsonCodec<StoredCredentials[VendorChannelId]>();

export async function saveCredentials(
	env: Env,
	appId: string,
	channel: VendorChannelId,
	/** The channel's credentials, validated by its schema (and completed, for Web Push): read back as StoredCredentials. */
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
		masked,
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
	forgetCredentialRows(appId);
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

/**
 * An isolate keeps each app's configured channels this long for the payload-size check on every
 * send (docs/api.md: a credential change reaches that check within 30 s; sending reads fresh rows).
 */
const CHANNELS_TTL_MS = 30_000;
const channelRows = new Map<string, { rows: Promise<CredentialRow[]>; until: number }>();

export function cachedCredentialRows(env: Env, appId: string): Promise<CredentialRow[]> {
	const hit = channelRows.get(appId);
	if (hit && hit.until > Date.now()) return hit.rows;
	const rows = listCredentialRows(env, appId);
	channelRows.set(appId, { rows, until: Date.now() + CHANNELS_TTL_MS });
	rows.catch(() => channelRows.delete(appId));
	return rows;
}

/** This isolate reads the app's channels again at its next send (after a change). */
export function forgetCredentialRows(appId: string): void {
	channelRows.delete(appId);
}

/** The decrypted credentials of one channel, or undefined when the app has none. */
export async function loadCredentials<C extends VendorChannelId>(
	env: Env,
	appId: string,
	channel: C,
): Promise<StoredCredentials[C] | undefined> {
	const row = await findCredentialRow(env, appId, channel);
	return row ? ((await unsealCredentials(env, row)) as StoredCredentials[C]) : undefined;
}

/**
 * Decrypted credentials by the sealed text they came from, for a few minutes per isolate. Every
 * message that may reach a vendor checks its payload against each configured channel, and every
 * vendor job sends with its channel's credentials: without this, an app with nine channels paid
 * nine AES-GCM decryptions and JSON parses per message (about 10 % of a direct push's time,
 * measured). Keyed by the ciphertext, whose IV is fresh at every save, so new credentials are a
 * new key and never meet an old entry. Frozen: callers share one object.
 */
const unsealed = new Map<string, { at: number; value: Promise<StoredCredentials[VendorChannelId]> }>();
const UNSEALED_TTL_MS = 5 * 60_000;
const UNSEALED_MAX = 512;

/** The decrypted credentials of a row (of whichever channel the row is). */
export function unsealCredentials(env: Env, row: CredentialRow): Promise<StoredCredentials[VendorChannelId]> {
	const now = Date.now();
	const hit = unsealed.get(row.sealed);
	if (hit && now - hit.at < UNSEALED_TTL_MS) return hit.value;
	const value = unsealSecret(env, row.sealed).then((json) => deepFreeze(CredentialsJson.parse(json)));
	value.catch(() => unsealed.delete(row.sealed));
	if (unsealed.size >= UNSEALED_MAX) unsealed.delete(unsealed.keys().next().value as string);
	unsealed.set(row.sealed, { at: now, value });
	return value;
}

function deepFreeze<T>(value: T): T {
	if (value && typeof value === "object" && !Object.isFrozen(value)) {
		for (const v of Object.values(value)) deepFreeze(v);
		Object.freeze(value);
	}
	return value;
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
	if (status.error) {
		await emitWebhookEvent(env, appId, "credentials.token_failed", { channel, error: status.error.slice(0, 300) });
	}
}

/** The public view: never a secret, only ids, fingerprints and token health. */
export function credentialView(row: CredentialRow) {
	return {
		channel: row.channel,
		configured_at: row.configuredAt,
		status: row.status,
		masked: row.masked,
		token: {
			last_refresh_at: row.tokenRefreshedAt,
			expires_at: row.tokenExpiresAt,
			last_error: row.lastError,
		},
	};
}
