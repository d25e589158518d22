import { mapBounded } from "../util/bounded.js";
import { chunks } from "../util/chunks.js";
import { authFailure, type SendTokens, staleTokenRetry } from "./common.js";
import { AccessTokenRefused } from "./oauth.js";
import type { PushTarget, SendOutcome, VendorChannelId } from "./types.js";

/**
 * Runs one vendor request with the app's cached access token (OPPO auth_token, vivo authToken,
 * Honor OAuth token). When the vendor refuses the token, it is refreshed once per send call and the
 * request is tried again; a second refusal rejects, and a cache with nothing newer yet means retry
 * later. `attempt` does the request itself (and turns network errors into outcomes).
 */
export async function withVendorToken<T>(
	channel: VendorChannelId,
	tokens: SendTokens,
	attempt: (token: string) => Promise<T | AccessTokenRefused>,
	fail: (outcome: SendOutcome) => T,
): Promise<T> {
	let token: string;
	try {
		token = await tokens.get();
	} catch (err) {
		return fail(authFailure(channel, err));
	}
	for (let tries = 0; ; tries++) {
		const result = await attempt(token);
		if (!(result instanceof AccessTokenRefused)) return result;
		if (tries > 0) return fail({ kind: "rejected", reason: `${result.reason} after a fresh access token` });
		let fresh: string | undefined;
		try {
			fresh = await tokens.refresh(token);
		} catch (err) {
			return fail(authFailure(channel, err));
		}
		if (!fresh) return fail(staleTokenRetry(channel, result.reason));
		token = fresh;
	}
}

/**
 * The common shape of a batch sender: targets without a token are invalid_token at once, the rest
 * go in batches of at most `size` tokens, `parallel` requests at a time, and each batch answers one
 * outcome per token, in order.
 */
export async function sendInBatches(
	targets: PushTarget[],
	size: number,
	noToken: string,
	sendBatch: (tokens: string[]) => Promise<SendOutcome[]>,
	parallel = 1,
): Promise<SendOutcome[]> {
	const outcomes = new Array<SendOutcome>(targets.length);
	const withToken: number[] = [];
	targets.forEach((t, i) => {
		if (t.token) withToken.push(i);
		else outcomes[i] = { kind: "invalid_token", reason: noToken };
	});
	await mapBounded(chunks(withToken, size), parallel, async (batch) => {
		const results = await sendBatch(batch.map((i) => targets[i]?.token as string));
		batch.forEach((targetIndex, j) => {
			outcomes[targetIndex] = results[j] ?? { kind: "retry", reason: "no outcome from sender" };
		});
	});
	return outcomes;
}
