/**
 * Optimal send time: the hour of the coming window in which this user has most often opened or
 * clicked a message before.
 *
 * Why it is built this way:
 * - Each user's inbox Durable Object keeps a 168-bucket histogram indexed by local hour of week
 *   (`localHourOfWeek`: Monday 00:xx = 0 … Sunday 23:xx = 167, in the user's zone), incremented on
 *   every `opened` / `clicked` event (`recordEngagement`). Local rather than UTC buckets, so a user
 *   who moves zones keeps "I read pushes at 8 in the morning", and DST does not shift the habit.
 * - The choice is made in the user's DO with only that DO's data: no cross-user query, no model.
 *   Candidates are the current local hour (represented by `now`) and the start of every later local
 *   hour up to `now + within_hours` (both ends inclusive). Local hour starts come from the zone's
 *   offset (one `Intl` call per hour), and around an offset change from walking its quarter hours
 *   (every zone offset is a multiple of 15 min), which is correct for half- and quarter-hour zones
 *   (Asia/Kolkata, Asia/Kathmandu), for Lord Howe's 30-minute DST, and for DST days (23- and 25-hour
 *   days; both passes through a repeated hour are candidates of the same bucket, the first wins ties).
 * - Best = highest count; ties → the earliest candidate, so a flat profile sends as soon as possible.
 *
 * Fallback (documented behaviour): when the buckets the window covers hold fewer than `minEvents`
 * events in total (default `OPTIMAL_MIN_EVENTS` = 3; a profile that thin is noise), the answer is the
 * next occurrence (at or after `now`) of `fallbackLocalTime` in the user's zone, if that lies within
 * the window. If it lies past the window end, the answer is `now`: the window is a promise to the
 * sender ("within 24 hours"), and sending now keeps it, whereas the fallback time would break it.
 * The fallback wall time follows `zonedWallTimeToInstant` on DST days (gap → first instant after).
 */
import { HOURS_PER_WEEK, localHourOfWeek, localParts, nextLocalTimeOfDay, parseTimeOfDay, zoneOffsetMs } from "./time.js";

export { HOURS_PER_WEEK } from "./time.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const QUARTER_MS = 900_000;

/** Minimum events in the window's buckets before the histogram is trusted over the fallback time. */
export const OPTIMAL_MIN_EVENTS = 3;

/** A fresh all-zero histogram. */
export function emptyHistogram(): number[] {
	return new Array<number>(HOURS_PER_WEEK).fill(0);
}

/** A copy of `histogram` with the bucket of `instant` (in `timeZone`) incremented by one. */
export function recordEngagement(histogram: readonly number[], instant: Date | number, timeZone: string): number[] {
	const next = normalize(histogram);
	const bucket = localHourOfWeek(instant, timeZone);
	next[bucket] = (next[bucket] ?? 0) + 1;
	return next;
}

/** 168 finite non-negative counts: missing, negative or non-numeric entries count as 0. */
function normalize(histogram: readonly number[]): number[] {
	const out = emptyHistogram();
	for (let i = 0; i < HOURS_PER_WEEK; i++) {
		const v = histogram[i];
		out[i] = typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0;
	}
	return out;
}

export interface OptimalInput {
	/** 168 counts of opened/clicked events by local hour of week (Monday 00:xx = 0). */
	histogram: readonly number[];
	/** The user's IANA zone (the app default when the user has none). */
	timeZone: string;
	now: Date;
	/** 1..168. */
	withinHours: number;
	/** `HH:MM`, the user's local time to use without a usable profile. */
	fallbackLocalTime: string;
	/** Default `OPTIMAL_MIN_EVENTS`. */
	minEvents?: number;
}

/** Monday-based hour of week of a wall-clock reading expressed as ms since the epoch (1970-01-01 was a Thursday). */
function bucketOfWall(wall: number): number {
	const days = Math.floor(wall / DAY_MS);
	const hour = Math.floor((wall - days * DAY_MS) / HOUR_MS);
	return ((((days + 3) % 7) + 7) % 7) * 24 + hour;
}

/**
 * Candidate send instants in [now, now + withinHours] with their hour-of-week bucket: `now`, then
 * each later local hour start.
 */
function candidates(now: number, end: number, timeZone: string): { at: number; bucket: number }[] {
	const out = [{ at: now, bucket: localHourOfWeek(now, timeZone) }];
	const hourStart = (t: number) => {
		const p = localParts(t, timeZone);
		return p.minute === 0 && p.second === 0 ? p.weekday * 24 + p.hour : undefined;
	};
	const walkQuarters = (from: number, to: number) => {
		for (let q = Math.floor(from / QUARTER_MS) * QUARTER_MS + QUARTER_MS; q <= to; q += QUARTER_MS) {
			const bucket = hourStart(q);
			if (bucket !== undefined) out.push({ at: q, bucket });
		}
	};
	let t = now;
	let o = zoneOffsetMs(t, timeZone);
	for (;;) {
		// The next local hour boundary if the offset stays as it is: one Intl call per hour.
		const next = (Math.floor((t + o) / HOUR_MS) + 1) * HOUR_MS - o;
		const nextOffset = zoneOffsetMs(Math.min(next, end), timeZone);
		if (nextOffset !== o) {
			// An offset change before the next boundary: walk its quarter hours (every offset is a multiple of 15 min).
			walkQuarters(t, Math.min(next, end));
		} else if (next <= end) {
			out.push({ at: next, bucket: bucketOfWall(next + o) });
		}
		if (next >= end) return out;
		t = next;
		o = nextOffset;
	}
}

/**
 * When to send to this user: the start of the best local hour within [now, now + withinHours]
 * (`now` itself when the best hour is the current one), else the fallback described in the file
 * comment. Throws RangeError for an unknown zone; a malformed `fallbackLocalTime` means "send now".
 */
export function optimalSendTime(input: OptimalInput): Date {
	const { timeZone, fallbackLocalTime } = input;
	const now = input.now.getTime();
	const hours = Math.min(Math.max(Math.floor(input.withinHours), 0), HOURS_PER_WEEK);
	const end = now + hours * HOUR_MS;
	const histogram = normalize(input.histogram);
	const minEvents = input.minEvents ?? OPTIMAL_MIN_EVENTS;

	const seenBuckets = new Set<number>();
	let windowEvents = 0;
	let best: { at: number; count: number } | undefined;
	for (const { at: t, bucket } of candidates(now, end, timeZone)) {
		const count = histogram[bucket] ?? 0;
		if (!seenBuckets.has(bucket)) {
			seenBuckets.add(bucket);
			windowEvents += count;
		}
		if (!best || count > best.count) best = { at: t, count };
	}
	if (best && best.count > 0 && windowEvents >= minEvents) return new Date(best.at);

	const minutes = parseTimeOfDay(fallbackLocalTime);
	if (minutes === null) return new Date(now);
	const fallback = nextLocalTimeOfDay(new Date(now), timeZone, minutes);
	return fallback.getTime() <= end ? fallback : new Date(now);
}
