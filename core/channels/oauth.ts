import { ChannelAuthError, isTransientStatus, readJson, VENDOR_TIMEOUT_MS } from "./common.js";
import type { MintedToken } from "./types.js";

/** POSTs an OAuth2 token request and reads `access_token` / `expires_in`; errors name the OAuth error code only. */
export async function exchangeForToken(
	vendor: string,
	url: string,
	form: URLSearchParams,
	fetchFn: typeof fetch,
): Promise<MintedToken> {
	const started = Date.now();
	let res: Response;
	try {
		res = await fetchFn(url, {
			method: "POST",
			signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
			headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
			body: form.toString(),
		});
	} catch (err) {
		throw new ChannelAuthError(`${vendor} token endpoint unreachable: ${err instanceof Error ? err.message : String(err)}`, true);
	}
	const json = (await readJson(res)) as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
	if (res.ok && typeof json?.access_token === "string") {
		const expiresIn = Number(json.expires_in);
		const seconds = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600;
		return { token: json.access_token, expiresAt: started + seconds * 1000 };
	}
	const code = typeof json?.error === "string" || typeof json?.error === "number" ? ` ${json.error}` : "";
	throw new ChannelAuthError(`${vendor} token endpoint answered ${res.status}${code}`, isTransientStatus(res.status) || res.ok);
}
