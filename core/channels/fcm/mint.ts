import { importPKCS8, SignJWT } from "jose";
import { ChannelAuthError, normalizePem } from "../common.js";
import { DEFAULT_ENDPOINTS } from "../endpoints.js";
import { exchangeForToken } from "../oauth.js";
import type { MintedToken, VendorEndpoints } from "../types.js";
import type { FcmCredentials } from "./credentials.js";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

/** The service account's RS256 assertion (RFC 7523): iss, scope, aud = token_uri, iat, exp = iat + 1 h. */
export async function fcmAssertion(credentials: FcmCredentials, now = Date.now()): Promise<string> {
	const sa = credentials.service_account;
	let key: CryptoKey;
	try {
		key = await importPKCS8(normalizePem(sa.private_key), "RS256");
	} catch {
		throw new ChannelAuthError("the service account key does not import as an RS256 PKCS#8 key", false);
	}
	const iat = Math.floor(now / 1000);
	const header: { alg: "RS256"; typ: "JWT"; kid?: string } = { alg: "RS256", typ: "JWT" };
	if (sa.private_key_id) header.kid = sa.private_key_id;
	return new SignJWT({ scope: FCM_SCOPE })
		.setProtectedHeader(header)
		.setIssuer(sa.client_email)
		.setAudience(sa.token_uri ?? DEFAULT_ENDPOINTS.googleTokenUri)
		.setIssuedAt(iat)
		.setExpirationTime(iat + 3600)
		.sign(key);
}

/** Exchanges the assertion for an OAuth2 access token (grant type jwt-bearer). */
export async function mintFcmToken(
	credentials: FcmCredentials,
	endpoints: VendorEndpoints,
	fetchFn: typeof fetch,
): Promise<MintedToken> {
	const assertion = await fcmAssertion(credentials);
	// Never the service account's own token_uri: a tenant-set URL would make this a request to
	// anywhere. Google's endpoint, or the deployment's override (the local simulator).
	const tokenUrl = endpoints.fcm.tokenUrl ?? DEFAULT_ENDPOINTS.googleTokenUri;
	return exchangeForToken(
		"fcm",
		tokenUrl,
		new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
		fetchFn,
	);
}
