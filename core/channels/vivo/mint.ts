import { ChannelAuthError, isTransientStatus, readJson } from "../common.js";
import { md5Hex } from "../md5.js";
import { postTokenRequest } from "../oauth.js";
import type { MintedToken, VendorEndpoints } from "../types.js";
import type { VivoCredentials } from "./credentials.js";

/**
 * vivo: "authToken … 24小时过期，业务方做中心缓存" and `/message/auth` is limited to 10 calls a second
 * per app: one cached token per app (the VendorTokens object) keeps far below it.
 */
export const VIVO_TOKEN_LIFETIME_MS = 24 * 3600 * 1000;

/** sign = lower-case hex md5(appId + appKey + timestamp + appSecret), timestamp in epoch ms. */
export function vivoSign(appId: string, appKey: string, timestamp: string, appSecret: string): string {
	return md5Hex(appId + appKey + timestamp + appSecret);
}

/** `POST /message/auth` {appId, appKey, timestamp, sign} → `{result: 0, desc, authToken}`. */
export async function mintVivoToken(
	credentials: VivoCredentials,
	endpoints: VendorEndpoints,
	fetchFn: typeof fetch,
	now = Date.now(),
): Promise<MintedToken> {
	const timestamp = String(now);
	const body = JSON.stringify({
		appId: credentials.app_id,
		appKey: credentials.app_key,
		timestamp: now,
		sign: vivoSign(credentials.app_id, credentials.app_key, timestamp, credentials.app_secret),
	});
	const res = await postTokenRequest(
		"vivo",
		`${endpoints.vivo.send}/message/auth`,
		{ headers: { "content-type": "application/json;charset=utf-8" }, body },
		fetchFn,
	);
	const json = (await readJson(res)) as { result?: unknown; authToken?: unknown } | undefined;
	const result = typeof json?.result === "number" ? json.result : undefined;
	if (res.ok && result === 0 && typeof json?.authToken === "string") {
		return { token: json.authToken, expiresAt: now + VIVO_TOKEN_LIFETIME_MS };
	}
	throw new ChannelAuthError(
		`vivo auth answered ${res.status}${result !== undefined ? ` ${result}` : ""}`,
		isTransientStatus(res.status),
	);
}
