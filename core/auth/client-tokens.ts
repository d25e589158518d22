import { eq } from "drizzle-orm";
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT } from "jose";
import { db } from "../db/client.js";
import { apps } from "../db/schema.js";
import { fromBase64Url } from "./crypto.js";
import { unsealSecret } from "./keyring.js";

/**
 * Client tokens: HS256 JWTs signed with the app's own secret, carrying app (aud), user (sub) and
 * expiry. One app's secret can never verify another app's token.
 */
const ISSUER = "warbler";

export interface ClientClaims {
	appId: string;
	userId: string;
	expiresAt: number;
	/** When the token was minted (epoch ms): revocations refuse tokens minted before them. */
	mintedAt: number;
}

export async function signClientToken(secret: Uint8Array, appId: string, userId: string, ttlSeconds: number, kid = 1) {
	const now = Math.floor(Date.now() / 1000);
	const exp = now + ttlSeconds;
	// `mat`: minted at, in ms. A revocation refuses tokens minted before it; `iat` has only seconds,
	// and a token minted in the same second just after a revocation must work.
	const token = await new SignJWT({ mat: Date.now() })
		.setProtectedHeader({ alg: "HS256", typ: "JWT", kid: `k${kid}` })
		.setIssuer(ISSUER)
		.setAudience(appId)
		.setSubject(userId)
		.setIssuedAt(now)
		.setExpirationTime(exp)
		.setJti(crypto.randomUUID())
		.sign(secret);
	return { token, expires_at: new Date(exp * 1000).toISOString() };
}

/** An app's signing secrets: the current one, and after a rotation the one before it for a while. */
export interface AppTokenKeys {
	current: { kid: number; secret: Uint8Array };
	previous?: { kid: number; secret: Uint8Array; until: number };
}

/**
 * Per-isolate cache of app signing secrets: a reconnect storm verifies thousands of tokens of one
 * app, and each would otherwise cost a D1 read and a decryption. Short-lived so a deleted app's
 * tokens stop working within a minute; a token naming a newer secret reads them again at once.
 */
const secretCache = new Map<string, { keys: AppTokenKeys; until: number }>();
const SECRET_CACHE_MS = 60_000;

export async function appTokenKeys(env: Env, appId: string, fresh = false): Promise<AppTokenKeys | undefined> {
	const cached = secretCache.get(appId);
	if (!fresh && cached && cached.until > Date.now()) return cached.keys;
	const row = await db(env)
		.select({
			tokenSecret: apps.tokenSecret,
			tokenKid: apps.tokenKid,
			previousTokenSecret: apps.previousTokenSecret,
			previousTokenKid: apps.previousTokenKid,
			previousTokenUntil: apps.previousTokenUntil,
		})
		.from(apps)
		.where(eq(apps.id, appId))
		.get();
	if (!row) return undefined;
	const keys: AppTokenKeys = { current: { kid: row.tokenKid, secret: fromBase64Url(await unsealSecret(env, row.tokenSecret)) } };
	if (row.previousTokenSecret && row.previousTokenKid !== null && row.previousTokenUntil !== null) {
		keys.previous = {
			kid: row.previousTokenKid,
			secret: fromBase64Url(await unsealSecret(env, row.previousTokenSecret)),
			until: row.previousTokenUntil,
		};
	}
	if (secretCache.size > 10_000) secretCache.clear();
	secretCache.set(appId, { keys, until: Date.now() + SECRET_CACHE_MS });
	return keys;
}

/** This isolate reads the app's secrets again at its next token (after a rotation). */
export function forgetTokenKeys(appId: string): void {
	secretCache.delete(appId);
}

/** The app's current signing secret (for minting). */
export async function appTokenSecret(env: Env, appId: string): Promise<Uint8Array | undefined> {
	return (await appTokenKeys(env, appId))?.current.secret;
}

/** The secret as a WebCrypto key, imported once per secret (a reconnect storm verifies thousands). */
const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
	let key = hmacKeys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
		hmacKeys.set(secret, key);
	}
	return key;
}

/** The secret a token names (`kid` k<n>; none is k1): the current one, or the previous within its overlap. */
async function secretFor(env: Env, appId: string, kid: number): Promise<Uint8Array | undefined> {
	let keys = await appTokenKeys(env, appId);
	// A token signed after a rotation this isolate has not seen yet.
	if (keys && kid > keys.current.kid) keys = await appTokenKeys(env, appId, true);
	if (!keys) return undefined;
	if (kid === keys.current.kid) return keys.current.secret;
	if (keys.previous && kid === keys.previous.kid && keys.previous.until > Date.now()) return keys.previous.secret;
	return undefined;
}

/** Verifies a presented token; undefined for anything malformed, forged, expired or for a deleted app. */
export async function verifyClientToken(env: Env, token: string): Promise<ClientClaims | undefined> {
	let appId: string | undefined;
	let kid = 1;
	try {
		const aud = decodeJwt(token).aud;
		appId = typeof aud === "string" ? aud : undefined;
		const header = decodeProtectedHeader(token).kid;
		if (header !== undefined) {
			const m = /^k([1-9][0-9]{0,8})$/.exec(header);
			if (!m) return undefined;
			kid = Number(m[1]);
		}
	} catch {
		return undefined;
	}
	if (!appId || appId.length > 64) return undefined;
	const secret = await secretFor(env, appId, kid);
	if (!secret) return undefined;
	try {
		const { payload } = await jwtVerify(token, await hmacKey(secret), { issuer: ISSUER, audience: appId, algorithms: ["HS256"] });
		if (typeof payload.sub !== "string" || typeof payload.exp !== "number") return undefined;
		const mintedAt = typeof payload.mat === "number" ? payload.mat : (payload.iat ?? 0) * 1000;
		return { appId, userId: payload.sub, expiresAt: payload.exp, mintedAt };
	} catch (err) {
		if (err instanceof errors.JOSEError) return undefined;
		throw err;
	}
}
