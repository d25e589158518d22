/**
 * Token buckets for API rate limits: a bucket holds at most `rate` tokens (a one-second window, so a
 * burst may use the whole second's budget at once) and refills continuously at `rate` per second.
 * Pure: the state lives in the app's meter object, which is the only place that calls `take`.
 */

export interface Bucket {
	tokens: number;
	/** Epoch ms of the last refill. */
	at: number;
}

/**
 * What the RateLimit headers report for one policy (draft-ietf-httpapi-ratelimit-headers): a token
 * bucket ("per-key", "per-app") or a plan quota named by its limit ("messages_per_month", …).
 */
export interface PolicyState {
	/** The policy's name in `RateLimit-Policy` / `RateLimit`: "per-key" or "per-app". */
	name: string;
	/** `q`: requests allowed per window. */
	quota: number;
	/** `w`: the window, seconds (a quota of objects has none). */
	window?: number;
	/** `r`: requests left now. */
	remaining: number;
	/** `t`: whole seconds until the bucket is full again. */
	reset: number;
}

export const WINDOW_SECONDS = 1;

export function refill(bucket: Bucket | undefined, rate: number, now: number): Bucket {
	if (!bucket) return { tokens: rate, at: now };
	const tokens = Math.min(rate, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rate);
	return { tokens, at: now };
}

export function stateOf(name: "per-key" | "per-app", bucket: Bucket, rate: number): PolicyState {
	const remaining = Math.max(0, Math.floor(bucket.tokens));
	const reset = bucket.tokens >= rate ? 0 : Math.ceil((rate - bucket.tokens) / rate);
	return { name, quota: rate, window: WINDOW_SECONDS, remaining, reset };
}

/** Whole seconds until one token is back: a refused request's Retry-After (at least 1). */
export function secondsToNextToken(bucket: Bucket, rate: number): number {
	return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
}

/**
 * A plan quota as a RateLimit policy: `q` the maximum, `w` the period in seconds (a month's length
 * for monthly quotas, none for objects), `r` what is left, `t` seconds until it resets (or, for
 * objects, the Retry-After hint).
 */
export function quotaPolicy(limit: string, used: number, max: number, reset: number, window?: number): PolicyState {
	return { name: limit, quota: max, window, remaining: Math.max(0, max - used), reset };
}
