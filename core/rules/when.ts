/**
 * A schedule's `when`, and when it fires next.
 *
 *   {at: "<RFC 3339>"}                                          once, at that instant
 *   {cron: "0 9 * * 1-5", timezone: "Asia/Shanghai",            recurring, in that zone's wall clock
 *    until?: "<RFC 3339>", max_runs?: n}
 *   {local_time: "2026-12-24T09:00[:00]"}                       that wall-clock time in each recipient's zone
 *   {optimal: {within_hours: 1..168, fallback_local_time: "HH:MM"}}  each recipient's best hour (optimal.ts)
 *
 * Why it is built this way:
 * - The four shapes are strict objects in a union: zod reports the issues of the one shape whose keys
 *   match, so a bad cron answers `{path: "when.cron", message: …}`, not a bare "invalid union".
 * - Cron goes through croner (maintained, time-zone aware, no dependencies, no `node:` imports):
 *   standard 5-field expressions (minute precision; `MON-FRI`, `L`, `#`, `W` and `@daily`-style
 *   nicknames allowed), evaluated in the schedule's IANA zone. Seconds and year fields are refused:
 *   a per-second broadcast schedule is a mistake, and a year field lets an expression never fire.
 *   An expression that can never fire (`0 0 30 2 *`) is refused too. Croner is only used as a
 *   calculator (no callback, `paused`), so it never starts a timer inside a Worker.
 * - `nextRun` is a pure function of (when, after, runsSoFar): the caller persists `run_count` and
 *   the last occurrence, and passes the last occurrence (not the wall clock) as `after`, so an
 *   occurrence missed during an outage comes back as an overdue Date and is sent late, never lost.
 *   The occurrence Date is also what the idempotency key is built from (`occurrenceKey`).
 *
 * DST (croner's behaviour, which follows Vixie cron; tested in America/New_York and Europe/Berlin):
 * - Fixed-time jobs (a single value in minute and hour, e.g. `30 2 * * *`): a wall time that does not
 *   exist on the spring-forward day runs at the first valid time after the gap, the same day. A
 *   02:30 daily job in New York runs at 03:00 EDT (07:00Z) on 2026-03-08; in Berlin at 03:00 CEST
 *   (01:00Z) on 2026-03-29. A wall time that happens twice on the fall-back day runs once, at the
 *   first occurrence: a 01:30 daily job in New York runs at 01:30 EDT (05:30Z) on 2026-11-01, not
 *   again at 01:30 EST; in Berlin a 02:30 job runs at 02:30 CEST (00:30Z) on 2026-10-25.
 * - Interval jobs (a wildcard, step, range or list in minute or hour, e.g. `*\/30 * * * *`): times
 *   inside the gap are skipped, and a repeated hour runs on both passes.
 */

import { Cron } from "croner";
import { errorText } from "../util/errors.js";
import { z } from "../zod.js";
import { LocalDateTimeString, parseLocalDateTime, parseRfc3339, Rfc3339, resolveWallTime, TimeOfDay, TimeZone } from "./time.js";

export { localHourOfWeek, zonedWallTimeToInstant } from "./time.js";

export const MAX_CRON_LENGTH = 128;
export const MAX_RUNS_LIMIT = 1_000_000;
export const MAX_OPTIMAL_WINDOW_HOURS = 168;

function cronJob(expression: string, timezone?: string): Cron {
	return new Cron(expression.trim(), { mode: "5-part", paused: true, ...(timezone ? { timezone } : {}) });
}

/** Null when `expression` is a cron expression this API accepts, else why not. */
export function cronProblem(expression: string): string | null {
	const trimmed = expression.trim();
	if (trimmed.length === 0) return "must be a cron expression such as 0 9 * * 1-5";
	let job: Cron;
	try {
		job = cronJob(trimmed);
	} catch (e) {
		const detail = errorText(e).replace(/^CronPattern:\s*/, "");
		return `not a valid 5-field cron expression (minute hour day-of-month month day-of-week): ${detail}`;
	}
	// croner also takes an ISO date as a one-shot "pattern": that is what `at` is for.
	if (job.getOnce() !== null) return "not a valid 5-field cron expression; use `at` for a single time";
	if (job.nextRun(new Date(0)) === null) return "this cron expression never fires";
	return null;
}

export const CronExpression = z
	.string()
	.max(MAX_CRON_LENGTH)
	.superRefine((s, ctx) => {
		const problem = cronProblem(s);
		if (problem) ctx.addIssue({ code: "custom", message: problem });
	})
	.openapi({
		description: "5-field cron expression (minute precision) or @hourly/@daily/@weekly/@monthly/@yearly.",
		example: "0 9 * * 1-5",
	});

const AtWhen = z.strictObject({ at: Rfc3339 }).openapi("WhenAt");

const CronWhen = z
	.strictObject({
		cron: CronExpression,
		timezone: TimeZone,
		until: Rfc3339.optional().openapi({ description: "Inclusive: an occurrence exactly at `until` still runs." }),
		max_runs: z.number().int().min(1).max(MAX_RUNS_LIMIT).optional(),
	})
	.openapi("WhenCron");

const LocalTimeWhen = z
	.strictObject({
		local_time: LocalDateTimeString.openapi({
			description: "Wall-clock time without offset, fired in each recipient's time zone (the app default for users without one).",
		}),
	})
	.openapi("WhenLocalTime");

const OptimalWhen = z
	.strictObject({
		optimal: z.strictObject({
			within_hours: z.number().int().min(1).max(MAX_OPTIMAL_WINDOW_HOURS),
			fallback_local_time: TimeOfDay,
		}),
	})
	.openapi("WhenOptimal");

export const When = z.union([AtWhen, CronWhen, LocalTimeWhen, OptimalWhen]).openapi("ScheduleWhen");
export type When = z.infer<typeof When>;

/** Every zone `Intl` knows, used by `nextRun` for `local_time` when the caller names no zones. */
function allZones(): string[] {
	const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
	const zones = intl.supportedValuesOf?.("timeZone") ?? [];
	// Include the extreme offsets explicitly: the earliest (UTC+14) and latest (UTC−12) local times.
	return [...new Set([...zones, "Pacific/Kiritimati", "Etc/GMT+12", "UTC"])];
}

/** Groups over every zone cost ~20 ms of Intl calls; memoized per local time (a handful per isolate). */
const allZoneGroups = new Map<string, LocalTimeGroup[]>();
function groupsForAllZones(localIso: string): LocalTimeGroup[] {
	let groups = allZoneGroups.get(localIso);
	if (!groups) {
		groups = localTimeGroups(localIso, allZones());
		if (allZoneGroups.size >= 64) allZoneGroups.clear();
		allZoneGroups.set(localIso, groups);
	}
	return groups;
}

/** One firing of a `local_time` schedule: the instant, and the zones whose wall clock reads the time then. */
export interface LocalTimeGroup {
	at: Date;
	zones: string[];
}

/**
 * Groups `zones` by the instant their wall clock reads `localIso` (gap → first instant after it;
 * overlap → first occurrence, as `zonedWallTimeToInstant`), ascending by instant. Unknown zones and
 * duplicates are skipped. Malformed `localIso` → [].
 */
export function localTimeGroups(localIso: string, zones: Iterable<string>): LocalTimeGroup[] {
	const local = parseLocalDateTime(localIso);
	if (!local) return [];
	const byInstant = new Map<number, string[]>();
	const seen = new Set<string>();
	for (const zone of zones) {
		if (seen.has(zone)) continue;
		seen.add(zone);
		let at: Date;
		try {
			at = resolveWallTime(local, zone).instants[0]!;
		} catch {
			continue;
		}
		const list = byInstant.get(at.getTime());
		if (list) list.push(zone);
		else byInstant.set(at.getTime(), [zone]);
	}
	return [...byInstant.entries()].sort((a, b) => a[0] - b[0]).map(([ms, zs]) => ({ at: new Date(ms), zones: zs }));
}

export interface NextRunOptions {
	/**
	 * `local_time` only: the recipients' time zones (include the app default for users without one).
	 * Default: every zone `Intl` knows, so the answer is the next instant any zone on Earth reaches it
	 * (computing that costs ~20 ms of CPU once per local time per isolate; pass the audience's zones).
	 */
	zones?: Iterable<string>;
}

/**
 * When the schedule fires next, or null when it is done.
 *
 * - `at`: the instant while `runsSoFar` is 0 (even if it is before `after`: overdue, send late); then null.
 * - `cron`: croner's next occurrence strictly after `after` in `timezone`; null once `runsSoFar`
 *   reaches `max_runs`, when the next occurrence is later than `until` (inclusive bound), or when the
 *   expression has no further occurrence.
 * - `local_time`: the next instant strictly after `after` at which one of `opts.zones` reaches the wall
 *   time (see `localTimeGroups` for which zones fire then); null after the last zone. `runsSoFar` is
 *   not used: a local-time schedule has one run per zone group.
 * - `optimal`: `after` itself while `runsSoFar` is 0 (hand the message to every recipient's inbox now;
 *   each holds it until `optimalSendTime`); then null.
 *
 * Pass the previous occurrence (or the creation time) as `after`, not the current time, so missed
 * occurrences are returned (in the past) rather than skipped. Returns null for an invalid `when`.
 */
export function nextRun(when: When, after: Date, runsSoFar: number, opts: NextRunOptions = {}): Date | null {
	if ("at" in when) return runsSoFar > 0 ? null : parseRfc3339(when.at);
	if ("optimal" in when) return runsSoFar > 0 ? null : new Date(after.getTime());
	if ("local_time" in when) {
		const groups = opts.zones ? localTimeGroups(when.local_time, opts.zones) : groupsForAllZones(when.local_time);
		return groups.find((g) => g.at.getTime() > after.getTime())?.at ?? null;
	}
	if (when.max_runs !== undefined && runsSoFar >= when.max_runs) return null;
	let next: Date | null;
	try {
		next = cronJob(when.cron, when.timezone).nextRun(after);
	} catch {
		return null;
	}
	if (!next) return null;
	if (when.until !== undefined) {
		const until = parseRfc3339(when.until);
		if (!until || next.getTime() > until.getTime()) return null;
	}
	return next;
}

/**
 * The next `n` occurrences after `after` (for previews such as `GET /v1/schedules/{id}` showing
 * upcoming runs), respecting `until` and `max_runs` counted from `runsSoFar`.
 */
export function upcomingRuns(when: When, after: Date, runsSoFar: number, n: number, opts: NextRunOptions = {}): Date[] {
	const out: Date[] = [];
	let cursor = after;
	for (let i = 0; i < n; i++) {
		const next = nextRun(when, cursor, runsSoFar + i, opts);
		if (!next || (out.length > 0 && next.getTime() <= out[out.length - 1]!.getTime())) break;
		out.push(next);
		cursor = next;
	}
	return out;
}

/**
 * The idempotency key of one occurrence: the schedule id and the occurrence instant (ms precision,
 * UTC), e.g. `sch_1@2026-03-08T07:00:00.000Z`. An alarm and the safety-net cron computing the same
 * occurrence produce the same key, so at most one of them sends.
 */
export function occurrenceKey(scheduleId: string, occurrence: Date): string {
	return `${scheduleId}@${occurrence.toISOString()}`;
}
