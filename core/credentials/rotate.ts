import { and, eq } from "drizzle-orm";
import { currentKeyVersion, sealedVersion, sealSecret, unsealSecret } from "../auth/keyring.js";
import { db } from "../db/client.js";
import { apps, credentials } from "../db/schema.js";

/**
 * Re-seals every secret at rest (app token secrets, vendor credentials) that is not yet under the
 * current ENCRYPTION_KEY version. Idempotent: run it again and it finds nothing to do. Pages through
 * the tables so a large deployment does not need one huge request.
 */
export async function resealSecrets(env: Env) {
	const d = db(env);
	const version = currentKeyVersion(env);
	let appsResealed = 0;
	let credentialsResealed = 0;
	/** Records no configured key opens (sealed under a version older than PREVIOUS): listed, left alone. */
	const unreadable: string[] = [];
	const reseal = async (sealedJson: string, what: string) => {
		try {
			return await sealSecret(env, await unsealSecret(env, sealedJson));
		} catch {
			unreadable.push(what);
			return undefined;
		}
	};
	// Each app's signing secret, and the replaced one while its tokens may still verify. Written only
	// if nothing replaced it meanwhile (compare and swap): a newer secret is never overwritten.
	for (const column of ["tokenSecret", "previousTokenSecret"] as const) {
		for (const row of await d.select({ id: apps.id, sealed: apps[column] }).from(apps).all()) {
			if (!row.sealed || sealedVersion(row.sealed) === version) continue;
			const sealed = await reseal(
				row.sealed,
				column === "tokenSecret" ? `app ${row.id}` : `app ${row.id} (previous token secret)`,
			);
			if (!sealed) continue;
			const res = await d
				.update(apps)
				.set({ [column]: sealed })
				.where(and(eq(apps.id, row.id), eq(apps[column], row.sealed)));
			if (res.meta.changes > 0) appsResealed++;
		}
	}
	for (const row of await d.select().from(credentials).all()) {
		if (sealedVersion(row.sealed) === version) continue;
		const sealed = await reseal(row.sealed, `credentials ${row.appId}/${row.channel}`);
		if (!sealed) continue;
		// A PUT /v1/credentials that landed since the read wins: it is already sealed under the current key.
		const res = await d
			.update(credentials)
			.set({ sealed, keyVersion: version })
			.where(and(eq(credentials.appId, row.appId), eq(credentials.channel, row.channel), eq(credentials.sealed, row.sealed)));
		if (res.meta.changes > 0) credentialsResealed++;
	}
	return { version, apps: appsResealed, credentials: credentialsResealed, unreadable };
}
