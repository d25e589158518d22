import type { AccessTokens, VendorChannelId } from "../../workers/channels/types.js";
import type { VendorTokens } from "./vendor-tokens.js";

export function vendorTokensFor(env: Env, appId: string): DurableObjectStub<VendorTokens> {
	const ns = env.VENDOR_TOKENS as DurableObjectNamespace<VendorTokens>;
	return ns.get(ns.idFromName(appId));
}

/** The AccessTokens a channel sender uses: every isolate asks the app's one token holder. */
export function accessTokens(env: Env, appId: string): AccessTokens {
	const stub = vendorTokensFor(env, appId);
	return {
		get: (channel: VendorChannelId, opts?: { forceRefresh?: boolean }) => stub.token(appId, channel, opts?.forceRefresh ?? false),
	};
}
