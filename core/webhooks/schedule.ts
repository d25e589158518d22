/**
 * When a failed delivery is tried again: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 24 h after
 * each failure (8 attempts in all, ~42 h), each with up to 20 % jitter so endpoints that failed
 * together do not get their retries together. A deployment may set WEBHOOK_RETRY_SCHEDULE (seconds,
 * comma-separated) to another schedule.
 */
export const DEFAULT_RETRY_SCHEDULE_S = [5, 300, 1_800, 7_200, 18_000, 36_000, 86_400] as const;

/** Cloudflare Queues delay a message by at most 12 hours; a longer wait is taken in several hops. */
export const MAX_QUEUE_DELAY_S = 43_200;

/** A Retry-After longer than this is treated as this. */
export const MAX_RETRY_AFTER_S = 86_400;

export function retrySchedule(env: Env): number[] {
	const raw = (env as unknown as { WEBHOOK_RETRY_SCHEDULE?: string }).WEBHOOK_RETRY_SCHEDULE?.trim();
	if (!raw) return [...DEFAULT_RETRY_SCHEDULE_S];
	const parsed = raw.split(",").map((s) => Number(s.trim()));
	return parsed.length > 0 && parsed.every((n) => Number.isFinite(n) && n >= 1) ? parsed : [...DEFAULT_RETRY_SCHEDULE_S];
}

/**
 * Milliseconds until the next attempt after `attempts` failed ones, or null when retries are
 * exhausted. A Retry-After from the receiver wins over the schedule (still bounded by it running out).
 */
export function nextDelayMs(schedule: readonly number[], attempts: number, retryAfterS: number | null): number | null {
	const base = schedule[attempts - 1];
	if (base === undefined) return null;
	if (retryAfterS !== null) return Math.min(Math.max(retryAfterS, 1), MAX_RETRY_AFTER_S) * 1000;
	return Math.round(base * 1000 * (1 + Math.random() * 0.2));
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null, now: number): number | null {
	if (!value) return null;
	const v = value.trim();
	if (/^\d+$/.test(v)) return Number(v);
	const at = Date.parse(v);
	return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
