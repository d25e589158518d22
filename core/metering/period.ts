/** UTC calendar periods of metering: days `YYYY-MM-DD` and months `YYYY-MM`. */

export const dayOf = (at: number): string => new Date(at).toISOString().slice(0, 10);
export const monthOf = (at: number): string => new Date(at).toISOString().slice(0, 7);

/** Every day of `month` (YYYY-MM), in order. */
export function daysOf(month: string): string[] {
	const [y, m] = month.split("-").map(Number) as [number, number];
	const n = new Date(Date.UTC(y, m, 0)).getUTCDate();
	return Array.from({ length: n }, (_, i) => `${month}-${String(i + 1).padStart(2, "0")}`);
}

/** The first instant of `month` and of the month after it (epoch ms). */
export function monthBounds(month: string): { from: number; to: number } {
	const [y, m] = month.split("-").map(Number) as [number, number];
	return { from: Date.UTC(y, m - 1, 1), to: Date.UTC(y, m, 1) };
}

/** The length of the UTC month of `now`, seconds: a monthly quota's window. */
export function monthSeconds(now: number): number {
	const { from, to } = monthBounds(monthOf(now));
	return (to - from) / 1000;
}

/** Whole seconds from `now` to the start of the next UTC month: a monthly quota's Retry-After. */
export function secondsToNextMonth(now: number): number {
	return Math.max(1, Math.ceil((monthBounds(monthOf(now)).to - now) / 1000));
}
