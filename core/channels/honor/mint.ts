import { mintClientCredentials } from "../oauth.js";
import type { MintedToken, VendorEndpoints } from "../types.js";
import type { HonorCredentials } from "./credentials.js";

/**
 * Honor IAM, OAuth 2.0 client credentials (Honor Push "获取鉴权接口"): `POST
 * /auth/realms/developer/protocol/openid-connect/token` with grant_type=client_credentials,
 * client_id, client_secret → {access_token, expires_in (3,600 s)}.
 */
export function mintHonorToken(
	credentials: HonorCredentials,
	endpoints: VendorEndpoints,
	fetchFn: typeof fetch,
): Promise<MintedToken> {
	return mintClientCredentials("honor", endpoints.honor.tokenUrl, credentials, fetchFn);
}
