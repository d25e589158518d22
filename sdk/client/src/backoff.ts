/** Full-jitter exponential backoff: each delay is uniform in [0, min(maxMs, baseMs · 2^attempt)]. */
export interface BackoffOptions {
	/** Upper bound of the first delay. Default 500 ms. */
	baseMs?: number;
	/** Cap of every delay. Default 20 s. */
	maxMs?: number;
	/** Source of randomness in [0, 1); injectable for tests. */
	random?: () => number;
}

export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 20_000 } as const;

/** The ceiling of the delay before retry number `attempt` (0-based). */
export function backoffCeiling(attempt: number, baseMs: number = DEFAULT_BACKOFF.baseMs, maxMs: number = DEFAULT_BACKOFF.maxMs) {
	// 2^31 is far past any cap; bounding the exponent keeps the product finite.
	return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 31));
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
	const ceiling = backoffCeiling(attempt, options.baseMs, options.maxMs);
	const r = (options.random ?? Math.random)();
	return Math.floor(Math.min(Math.max(r, 0), 1) * ceiling);
}

/** Counts consecutive failed attempts; the owner resets it once a connection has proved stable. */
export class Backoff {
	private count = 0;

	constructor(private readonly options: BackoffOptions = {}) {}

	get attempt(): number {
		return this.count;
	}

	/** The delay before the next attempt; counts the attempt. */
	next(): number {
		return backoffDelay(this.count++, this.options);
	}

	reset(): void {
		this.count = 0;
	}
}
