import type { AccessTokens, MintedToken, VendorChannelId } from "../channels/types.js";
import { jsonCodec } from "../util/json-codec.js";

/** A minted token as the token holder keeps it (sealed in its storage under `token:<channel>`). */
export interface CachedToken extends MintedToken {
	mintedAt: number;
}

export const CachedTokenJson = jsonCodec<CachedToken>();

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
