/**
 * Secrets that must never appear in an answer or a log line, and how to look for them. No vitest
 * import: the global setup (which checks the Worker's logs) uses it too.
 */

/** Shorter values are not worth searching for: they could occur by chance. */
export const MIN_SECRET_LENGTH = 16;

/**
 * `values` as secrets, each checked to be a real one: a string of at least MIN_SECRET_LENGTH
 * characters. A renamed or missing field (undefined, or "undefined" after a String()) throws naming
 * it, instead of silently searching for nothing.
 */
export function requireSecrets(values: Record<string, unknown>): Record<string, string> {
	const bad = Object.entries(values).filter(
		([, v]) => typeof v !== "string" || v.trim().length < MIN_SECRET_LENGTH || v === "undefined" || v === "null",
	);
	if (bad.length) {
		throw new Error(`not a usable secret (field renamed or missing?): ${bad.map(([k, v]) => `${k} = ${typeof v}`).join(", ")}`);
	}
	return values as Record<string, string>;
}

/** The secret fields of the simulator's generated credentials (GET <sim>/__sim/credentials), by name. */
export function simulatorSecrets(credentials: unknown): Record<string, string> {
	const c = credentials as {
		apns?: { private_key?: unknown };
		fcm?: { service_account?: { private_key?: unknown } };
		hms?: { client_secret?: unknown };
		xiaomi?: { app_secret?: unknown };
		oppo?: { master_secret?: unknown };
		vivo?: { app_secret?: unknown };
		honor?: { client_secret?: unknown };
		meizu?: { app_secret?: unknown };
	};
	return requireSecrets({
		"apns.private_key": c?.apns?.private_key,
		"fcm.service_account.private_key": c?.fcm?.service_account?.private_key,
		"hms.client_secret": c?.hms?.client_secret,
		"xiaomi.app_secret": c?.xiaomi?.app_secret,
		"oppo.master_secret": c?.oppo?.master_secret,
		"vivo.app_secret": c?.vivo?.app_secret,
		"honor.client_secret": c?.honor?.client_secret,
		"meizu.app_secret": c?.meizu?.app_secret,
	});
}

/**
 * What to search for: each base64 line of a PEM's body (any one of them is a leak, whether the key
 * was printed raw or JSON-escaped), else the secret itself.
 */
export function fragments(secret: string): string[] {
	if (!secret.includes("-----BEGIN")) return [secret];
	const lines = secret.split(/\r?\n/).filter((l) => new RegExp(`^[A-Za-z0-9+/=]{${MIN_SECRET_LENGTH},}$`).test(l));
	if (lines.length === 0) throw new Error("a PEM without a base64 body");
	return lines;
}

/** The names of the secrets of which some fragment occurs in `text`. */
export function leakedIn(text: string, secrets: Record<string, string>): string[] {
	return Object.entries(secrets)
		.filter(([, s]) => fragments(s).some((f) => text.includes(f)))
		.map(([name]) => name);
}
