import { eq, sql } from "drizzle-orm";
import type { CallerApp, Scope } from "../auth/caller.js";
import type { Db } from "../db/client.js";
import { preparedOnce } from "../db/prepared.js";
import { apiKeys, apps, plans } from "../db/schema.js";
import { randomBytes, randomId, sha256, toBase64Url, toHex } from "./crypto.js";

/**
 * App key secrets look like `wbsk.<keyId>.<43 random chars>`: the key id lets us find the row
 * without a scan, the prefix lets secret scanners recognise a leaked key.
 */
const SECRET_PREFIX = "wbsk";

export async function mintAppKey(appId: string, name: string, scopes: Scope[], now: string) {
	const id = randomId("key");
	const secret = `${SECRET_PREFIX}.${id}.${toBase64Url(randomBytes(32))}`;
	const row = {
		id,
		appId,
		name,
		scopes,
		secretHash: toHex(await sha256(secret)),
		createdAt: now,
		revokedAt: null,
	};
	return { row, secret };
}

export function parseKeyId(secret: string): string | undefined {
	const parts = secret.split(".");
	if (parts.length !== 3 || parts[0] !== SECRET_PREFIX || !/^key_[0-9a-z]{12}$/.test(parts[1] ?? "")) return undefined;
	return parts[1];
}

export interface VerifiedKey {
	appId: string;
	keyId: string;
	scopes: Scope[];
	app: CallerApp;
}

/** The key and its app in one query: a send needs the app's settings anyway. */
const keyLookup = preparedOnce((db) =>
	db
		.select({
			id: apiKeys.id,
			appId: apiKeys.appId,
			secretHash: apiKeys.secretHash,
			scopes: apiKeys.scopes,
			revokedAt: apiKeys.revokedAt,
			settings: apps.settings,
			shardCount: apps.shardCount,
			// The app's plan rides along (a left join, no extra query): rate limits need it on every request.
			planId: plans.id,
			planName: plans.name,
			planLimits: plans.limits,
		})
		.from(apiKeys)
		.innerJoin(apps, eq(apps.id, apiKeys.appId))
		.leftJoin(plans, eq(plans.id, apps.planId))
		.where(eq(apiKeys.id, sql.placeholder("keyId")))
		.prepare(),
);

/** Looks the key up by id and compares hashes in constant time; revoked keys fail at once. */
export async function verifyAppKey(db: Db, secret: string): Promise<VerifiedKey | undefined> {
	const keyId = parseKeyId(secret);
	const presented = await sha256(secret);
	const row = keyId ? await keyLookup(db).get({ keyId }) : undefined;
	// Compare even when no row was found, so timing does not tell whether a key id exists.
	const stored = row ? hexToBytes(row.secretHash) : new Uint8Array(32);
	const equal = crypto.subtle.timingSafeEqual(presented, stored);
	if (!row || !equal || row.revokedAt) return undefined;
	return {
		appId: row.appId,
		keyId: row.id,
		scopes: row.scopes,
		app: {
			settings: row.settings,
			shardCount: row.shardCount,
			plan: row.planId ? { id: row.planId, name: row.planName ?? row.planId, limits: row.planLimits ?? {} } : undefined,
		},
	};
}

function hexToBytes(hex: string): Uint8Array {
	const out = new Uint8Array(32);
	for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
	return out;
}
