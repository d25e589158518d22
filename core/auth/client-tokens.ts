import { eq } from "drizzle-orm";
import { decodeJwt, errors, jwtVerify, SignJWT } from "jose";
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

export async function signClientToken(secret: Uint8Array, appId: string, userId: string, ttlSeconds: number) {
	const now = Math.floor(Date.now() / 1000);
	const exp = now + ttlSeconds;
	// `mat`: minted at, in ms. A revocation refuses tokens minted before it; `iat` has only seconds,
	// and a token minted in the same second just after a revocation must work.
	const token = await new SignJWT({ mat: Date.now() })
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.setIssuer(ISSUER)
		.setAudience(appId)
		.setSubject(userId)
		.setIssuedAt(now)
		.setExpirationTime(exp)
		.setJti(crypto.randomUUID())
		.sign(secret);
	return { token, expires_at: new Date(exp * 1000).toISOString() };
}

/**
 * Per-isolate cache of app signing secrets: a reconnect storm verifies thousands of tokens of one
 * app, and each would otherwise cost a D1 read and a decryption. Short-lived so a deleted app's
 * tokens stop working within a minute.
 */
const secretCache = new Map<string, { secret: Uint8Array; until: number }>();
const SECRET_CACHE_MS = 60_000;

export async function appTokenSecret(env: Env, appId: string): Promise<Uint8Array | undefined> {
	const cached = secretCache.get(appId);
	if (cached && cached.until > Date.now()) return cached.secret;
	const row = await db(env).select({ tokenSecret: apps.tokenSecret }).from(apps).where(eq(apps.id, appId)).get();
	if (!row) return undefined;
	const secret = fromBase64Url(await unsealSecret(env, row.tokenSecret));
	if (secretCache.size > 10_000) secretCache.clear();
	secretCache.set(appId, { secret, until: Date.now() + SECRET_CACHE_MS });
	return secret;
}

/** Verifies a presented token; undefined for anything malformed, forged, expired or for a deleted app. */
export async function verifyClientToken(env: Env, token: string): Promise<ClientClaims | undefined> {
	let appId: string | undefined;
	try {
		const aud = decodeJwt(token).aud;
		appId = typeof aud === "string" ? aud : undefined;
	} catch {
		return undefined;
	}
	if (!appId || appId.length > 64) return undefined;
	const secret = await appTokenSecret(env, appId);
	if (!secret) return undefined;
	try {
		const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, audience: appId, algorithms: ["HS256"] });
		if (typeof payload.sub !== "string" || typeof payload.exp !== "number") return undefined;
		const mintedAt = typeof payload.mat === "number" ? payload.mat : (payload.iat ?? 0) * 1000;
		return { appId, userId: payload.sub, expiresAt: payload.exp, mintedAt };
	} catch (err) {
		if (err instanceof errors.JOSEError) return undefined;
		throw err;
	}
}
