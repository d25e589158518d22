/** When and how long to wait before repeating a request. */
export interface RetryOptions {
	/** Retries after the first attempt. Default 3 (so at most 4 requests). 0 disables retries. */
	maxRetries?: number;
	/** Upper bound of the first backoff delay. Default 250 ms. */
	baseMs?: number;
	/** Cap of every backoff delay. Default 8 s. */
	maxMs?: number;
	/** A `Retry-After` longer than this is not waited out: the 429 is thrown. Default 60 s. */
	maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY = { maxRetries: 3, baseMs: 250, maxMs: 8_000, maxRetryAfterMs: 60_000 } as const;

/** Full-jitter exponential backoff: uniform in [0, min(maxMs, baseMs · 2^attempt)]. */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
	return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 31)));
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
	if (value === null) return undefined;
	const trimmed = value.trim();
	if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
	const at = Date.parse(trimmed);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Whether an answer may be retried. 429: always, the contract says a rejected request changes
 * nothing. 5xx: only when repeating the request is safe (the first one may have taken effect).
 */
export function isRetryableStatus(status: number, idempotent: boolean): boolean {
	return status === 429 || (idempotent && status >= 500 && status <= 599);
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const timer = setTimeout(() => {
			signal?.removeEventListener("abort", onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason);
		};
		signal?.addEventListener("abort", onAbort, { once: true });
	});
}
