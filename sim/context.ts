/** What every vendor handler gets: the shared state, the generated keys and the simulator's options. */
import type { SimKeys } from "./credentials.ts";
import { sleep } from "./http.ts";
import type { Fault, SimState } from "./state.ts";

export interface SimOptions {
	/**
	 * APNs provider-token refresh policy. "enforce" (default): a new JWT for the same team and key issued
	 * less than 20 minutes after the previous one is answered 429 TooManyProviderTokenUpdates once (unless
	 * the simulator had just rejected the previous token). "record": only counted in the stats.
	 */
	apnsTokenRefresh: "enforce" | "record";
	/** Delay of a "slow" fault without delay_ms. */
	slowDefaultMs: number;
}

export interface SimContext {
	state: SimState;
	keys: SimKeys;
	/** Origin the simulator is reachable at, e.g. http://127.0.0.1:9090 (no trailing slash). */
	baseUrl: string;
	options: SimOptions;
}

export const PAYLOAD_LIMIT = 4096;

/** Waits for a fault's delay: delay_ms when given, the default for "slow", nothing otherwise. */
export async function faultDelay(ctx: SimContext, fault: Fault | undefined): Promise<void> {
	if (!fault) return;
	const ms = fault.delay_ms ?? (fault.kind === "slow" ? ctx.options.slowDefaultMs : 0);
	if (ms > 0) await sleep(ms);
}

/** Retry-After header for a fault: its retry_after, or 1 second for a 429 without one. */
export function retryAfter(fault: Fault): Record<string, string> {
	const seconds = fault.retry_after ?? (fault.kind === "429" ? 1 : undefined);
	return seconds === undefined ? {} : { "retry-after": String(seconds) };
}
