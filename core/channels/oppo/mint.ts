import { ChannelAuthError, isTransientStatus, readJson } from "../common.js";
import { postTokenRequest } from "../oauth.js";
import type { MintedToken, VendorEndpoints } from "../types.js";
import type { OppoCredentials } from "./credentials.js";

/** OPPO: "auth_token有效期为24小时" (调用地址，公共参数和返回码). */
export const OPPO_TOKEN_LIFETIME_MS = 24 * 3600 * 1000;

/** sign = hex(sha256(app_key + timestamp + master_secret)), timestamp in epoch ms (OPPO "鉴权"). */
export async function oppoSign(appKey: string, timestamp: string, masterSecret: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(appKey + timestamp + masterSecret));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * `POST /server/v1/auth` (form: app_key, sign, timestamp) → `{code: 0, data: {auth_token,
 * create_time}}`. Code 14 (invalid app key) and 16 (invalid signature) are the credentials' fault.
 */
export async function mintOppoToken(
	credentials: OppoCredentials,
	endpoints: VendorEndpoints,
	fetchFn: typeof fetch,
	now = Date.now(),
): Promise<MintedToken> {
	const timestamp = String(now);
	const form = new URLSearchParams({
		app_key: credentials.app_key,
		sign: await oppoSign(credentials.app_key, timestamp, credentials.master_secret),
		timestamp,
	});
	const res = await postTokenRequest(
		"oppo",
		`${endpoints.oppo.send}/server/v1/auth`,
		{ headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" }, body: form.toString() },
		fetchFn,
	);
	const json = (await readJson(res)) as { code?: unknown; data?: { auth_token?: unknown } } | undefined;
	const code = typeof json?.code === "number" ? json.code : undefined;
	if (res.ok && code === 0 && typeof json?.data?.auth_token === "string") {
		return { token: json.data.auth_token, expiresAt: now + OPPO_TOKEN_LIFETIME_MS };
	}
	// -1 / -2: service busy or flow control; everything else is the credentials' or the request's.
	const transient = isTransientStatus(res.status) || code === -1 || code === -2;
	throw new ChannelAuthError(`oppo auth answered ${res.status}${code !== undefined ? ` ${code}` : ""}`, transient);
}
