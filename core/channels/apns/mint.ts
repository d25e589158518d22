import { importPKCS8, SignJWT } from "jose";
import { ChannelAuthError, normalizePem } from "../common.js";
import type { MintedToken } from "../types.js";
import type { ApnsCredentials } from "./credentials.js";

/** Apple refuses refreshes faster than every 20 minutes and tokens older than 60: use each for 50. */
export const APNS_TOKEN_LIFETIME_SECONDS = 50 * 60;

/** The APNs provider authentication token: ES256 JWT, header `kid`, claims `iss` (team) and `iat`. */
export async function mintApnsToken(credentials: ApnsCredentials, now = Date.now()): Promise<MintedToken> {
	let key: CryptoKey;
	try {
		key = await importPKCS8(normalizePem(credentials.private_key), "ES256");
	} catch {
		throw new ChannelAuthError("the APNs auth key does not import as an ES256 PKCS#8 key", false);
	}
	const iat = Math.floor(now / 1000);
	const token = await new SignJWT({})
		.setProtectedHeader({ alg: "ES256", kid: credentials.key_id })
		.setIssuer(credentials.team_id)
		.setIssuedAt(iat)
		.sign(key);
	return { token, expiresAt: (iat + APNS_TOKEN_LIFETIME_SECONDS) * 1000 };
}
