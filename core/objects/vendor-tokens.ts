import type { AccessTokens, VendorChannelId } from "../channels/types.js";

/** One token holder per app, shared by every isolate. */
export function vendorTokensFor(env: Env, appId: string) {
	return env.VENDOR_TOKENS.get(env.VENDOR_TOKENS.idFromName(appId));
}

/** The AccessTokens a channel sender uses: every isolate asks the app's one token holder. */
export function accessTokens(env: Env, appId: string): AccessTokens {
	const stub = vendorTokensFor(env, appId);
	return {
		get: (channel: VendorChannelId, opts?: { forceRefresh?: boolean }) => stub.token(appId, channel, opts?.forceRefresh ?? false),
	};
}
