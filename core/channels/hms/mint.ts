import { mintClientCredentials } from "../oauth.js";
import type { MintedToken, VendorEndpoints } from "../types.js";
import type { HmsCredentials } from "./credentials.js";

/** Huawei OAuth 2.0 client credentials: grant_type=client_credentials at the token endpoint. */
export function mintHmsToken(
	credentials: HmsCredentials,
	endpoints: VendorEndpoints,
	fetchFn: typeof fetch,
): Promise<MintedToken> {
	return mintClientCredentials("hms", endpoints.hms.tokenUrl, credentials, fetchFn);
}
