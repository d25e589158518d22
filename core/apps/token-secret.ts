import { eq, sql } from "drizzle-orm";
import type { Caller } from "../auth/caller.js";
import { forgetTokenKeys } from "../auth/client-tokens.js";
import { randomBytes, toBase64Url } from "../auth/crypto.js";
import { sealSecret } from "../auth/keyring.js";
import { auditEntry } from "../db/audit.js";
import { db } from "../db/client.js";
import { apps } from "../db/schema.js";
import { AppError } from "../errors.js";

/** How long tokens signed with the replaced secret keep working, unless the caller says otherwise. */
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

export interface TokenSecretRotation {
	kid: string;
	previous_kid: string;
	previous_valid_until: string;
}

/**
 * Gives the app a new client-token signing secret. Tokens minted from now on name it (`kid`); tokens
 * signed with the one before keep verifying for `overlapSeconds` (0: at once refused), so devices
 * can fetch new tokens without a gap. The secret before that one stops working now.
 */
export async function rotateTokenSecret(
	env: Env,
	caller: Caller,
	appId: string,
	overlapSeconds: number,
): Promise<TokenSecretRotation> {
	const d = db(env);
	if (!(await d.select({ id: apps.id }).from(apps).where(eq(apps.id, appId)).get())) {
		throw new AppError("not_found", "No such app.");
	}
	const sealed = await sealSecret(env, toBase64Url(randomBytes(32)));
	const until = Date.now() + overlapSeconds * 1000;
	// One statement: the right-hand sides read the row as it was, so the old secret moves to previous.
	const [updated] = await d.batch([
		d
			.update(apps)
			.set({
				previousTokenSecret: sql`${apps.tokenSecret}`,
				previousTokenKid: sql`${apps.tokenKid}`,
				previousTokenUntil: until,
				tokenSecret: sealed,
				tokenKid: sql`${apps.tokenKid} + 1`,
			})
			.where(eq(apps.id, appId))
			.returning({ kid: apps.tokenKid }),
		auditEntry(d, caller, appId, "app.token_secret.rotate", appId),
	]);
	const kid = updated[0]?.kid;
	if (kid === undefined) throw new AppError("not_found", "No such app.");
	forgetTokenKeys(appId);
	return { kid: `k${kid}`, previous_kid: `k${kid - 1}`, previous_valid_until: new Date(until).toISOString() };
}
