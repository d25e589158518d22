import { eq } from "drizzle-orm";
import { decodeJwt, errors, jwtVerify, SignJWT } from "jose";
import { db } from "../db/client.js";
import { apps } from "../db/schema.js";
import { fromBase64Url, unseal } from "./crypto.js";

/**
 * Client tokens: HS256 JWTs signed with the app's own secret, carrying app (aud), user (sub) and
 * expiry. One app's secret can never verify another app's token.
 */
const ISSUER = "warbler";

export interface ClientClaims {
	appId: string;
	userId: string;
	expiresAt: number;
}

export async function signClientToken(secret: Uint8Array, appId: string, userId: string, ttlSeconds: number) {
	const now = Math.floor(Date.now() / 1000);
	const exp = now + ttlSeconds;
	const token = await new SignJWT({})
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

export async function appTokenSecret(env: Env, appId: string): Promise<Uint8Array | undefined> {
	const row = await db(env).select({ tokenSecret: apps.tokenSecret }).from(apps).where(eq(apps.id, appId)).get();
	if (!row) return undefined;
	return fromBase64Url(await unseal(row.tokenSecret, env.ENCRYPTION_KEY));
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
		return { appId, userId: payload.sub, expiresAt: payload.exp };
	} catch (err) {
		if (err instanceof errors.JOSEError) return undefined;
		throw err;
	}
}
