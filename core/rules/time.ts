/**
 * Time-zone arithmetic for scheduling: wall-clock time ↔ instants in IANA zones, strict parsers for
 * the time formats the scheduling API accepts, and the zod schemas for them.
 *
 * Why it is built this way:
 * - Workers have no tz database of their own but do ship `Intl` with full ICU time-zone data, so
 *   every conversion goes through `Intl.DateTimeFormat#formatToParts` (one cached formatter per
 *   zone) instead of a bundled tz library. No `node:` imports, nothing but the platform.
 * - Turning a wall-clock time into an instant is not a function: in a spring-forward gap the time
 *   never happens, in a fall-back overlap it happens twice. `resolveWallTime` returns every instant
 *   (1 or 2) or, in a gap, the first instant after it, and the public helpers pick from that list:
 *   gap → first valid instant after the gap (same as croner does for fixed-time cron jobs: 02:30 on
 *   the New York spring-forward day becomes 03:00 EDT), overlap → the first occurrence.
 * - Parsers are strict (a 30 February or an hour 24 is an error, not a silent roll-over the way
 *   `new Date()` rolls it) because these strings come straight from API bodies.
 * - Time zones must be IANA names (`Europe/Berlin`, `UTC`, `Etc/GMT+5`): `Intl` also accepts raw
 *   offsets such as `+05:00`, which have no DST rules and are refused here.
 */
import { z } from "../zod.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

// ─── Time zones ──────────────────────────────────────────────────────────────────────────────────

const formatterCache = new Map<string, Intl.DateTimeFormat>();
const MAX_CACHED_FORMATTERS = 1000;

function formatterFor(timeZone: string): Intl.DateTimeFormat {
	let f = formatterCache.get(timeZone);
	if (!f) {
		// Throws RangeError for an unknown zone; only valid zones reach the cache.
		f = new Intl.DateTimeFormat("en-US", {
			timeZone,
			hourCycle: "h23",
			year: "numeric",
			month: "numeric",
			day: "numeric",
			hour: "numeric",
			minute: "numeric",
			second: "numeric",
			era: "short",
		});
		if (formatterCache.size >= MAX_CACHED_FORMATTERS) formatterCache.clear();
		formatterCache.set(timeZone, f);
	}
	return f;
}

/** True for IANA zone names `Intl` knows (case-insensitive, as `Intl` is); false for raw offsets and junk. */
export function isValidTimeZone(timeZone: unknown): timeZone is string {
	if (typeof timeZone !== "string" || timeZone.length === 0 || timeZone.length > 64) return false;
	// Raw UTC offsets ("+05:00", "-0800") are accepted by newer Intl but are not zones: no DST rules.
	if (!/^[A-Za-z]/.test(timeZone)) return false;
	try {
		formatterFor(timeZone);
		return true;
	} catch {
		return false;
	}
}

/** An IANA time zone name; the error names the field it sits in. */
export const TimeZone = z
	.string()
	.max(64)
	.refine(isValidTimeZone, "must be an IANA time zone such as Europe/Berlin or America/New_York")
	.openapi({ description: "IANA time zone name.", example: "Asia/Shanghai" });

/** Wall-clock reading of an instant in a zone. `weekday`: 0 = Monday … 6 = Sunday (ISO 8601 order). */
export interface LocalParts {
	year: number;
	month: number;
	day: number;
	hour: number;
	minute: number;
	second: number;
	weekday: number;
}

/** The wall-clock time of `instant` in `timeZone`. Throws RangeError for an unknown zone. */
export function localParts(instant: Date | number, timeZone: string): LocalParts {
	const ms = typeof instant === "number" ? instant : instant.getTime();
	const parts = formatterFor(timeZone).formatToParts(ms);
	const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? Number.NaN);
	let year = get("year");
	if (parts.find((p) => p.type === "era")?.value === "BC") year = 1 - year;
	const month = get("month");
	const day = get("day");
	const weekday = (new Date(wallMs({ year, month, day, hour: 0, minute: 0, second: 0 })).getUTCDay() + 6) % 7;
	return { year, month, day, hour: get("hour"), minute: get("minute"), second: get("second"), weekday };
}

/** Milliseconds to add to UTC to get the wall clock of `timeZone` at `instant` (whole seconds). */
export function zoneOffsetMs(instant: Date | number, timeZone: string): number {
	const ms = typeof instant === "number" ? instant : instant.getTime();
	const p = localParts(ms, timeZone);
	return wallMs(p) - Math.floor(ms / 1000) * 1000;
}

// ─── Local date-times ────────────────────────────────────────────────────────────────────────────

/** A wall-clock date-time without offset, as parsed from `YYYY-MM-DDTHH:MM[:SS]`. */
export interface LocalDateTime {
	year: number;
	month: number;
	day: number;
	hour: number;
	minute: number;
	second: number;
}

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

function validCalendar(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
	const probe = new Date(0);
	probe.setUTCFullYear(y, mo - 1, d);
	return probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d;
}

/** Parses `YYYY-MM-DDTHH:MM[:SS]` (no offset, no fraction); null for anything else or an impossible date. */
export function parseLocalDateTime(s: string): LocalDateTime | null {
	const m = LOCAL_RE.exec(s);
	if (!m) return null;
	const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
	const second = m[6] === undefined ? 0 : Number(m[6]);
	return validCalendar(year, month, day, hour, minute, second) ? { year, month, day, hour, minute, second } : null;
}

/** The local date `days` after the given one (calendar arithmetic, no zone involved). */
export function addLocalDays(t: LocalDateTime, days: number): LocalDateTime {
	const d = new Date(0);
	d.setUTCFullYear(t.year, t.month - 1, t.day + days);
	return { ...t, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function wallMs(t: LocalDateTime): number {
	const d = new Date(0);
	d.setUTCFullYear(t.year, t.month - 1, t.day);
	d.setUTCHours(t.hour, t.minute, t.second, 0);
	return d.getTime();
}

/** `HH:MM` → minutes after midnight, or null. */
export function parseTimeOfDay(s: string): number | null {
	const m = /^(\d{2}):(\d{2})$/.exec(s);
	if (!m) return null;
	const h = Number(m[1]);
	const mi = Number(m[2]);
	return h <= 23 && mi <= 59 ? h * 60 + mi : null;
}

/**
 * RFC 3339 date-time with a mandatory offset (`Z` or `±HH:MM`), optional fraction: the instant, or
 * null for anything else (including impossible dates such as 2026-02-30).
 */
export function parseRfc3339(s: string): Date | null {
	const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(s);
	if (!m) return null;
	const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
		number,
		number,
		number,
		number,
		number,
		number,
	];
	if (!validCalendar(y, mo, d, h, mi, sec)) return null;
	let offsetMin = 0;
	if (m[9]) {
		const oh = Number(m[10]);
		const om = Number(m[11]);
		if (oh > 23 || om > 59) return null;
		offsetMin = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
	}
	const frac = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
	const ms = wallMs({ year: y, month: mo, day: d, hour: h, minute: mi, second: sec }) + frac - offsetMin * 60_000;
	return Number.isFinite(ms) ? new Date(ms) : null;
}

export const Rfc3339 = z
	.string()
	.max(64)
	.refine((s) => parseRfc3339(s) !== null, "must be an RFC 3339 date-time with an offset, e.g. 2026-12-24T09:00:00Z")
	.openapi({ format: "date-time", example: "2026-12-24T09:00:00+08:00" });

export const LocalDateTimeString = z
	.string()
	.max(32)
	.refine(
		(s) => parseLocalDateTime(s) !== null,
		"must be a local date-time without offset, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS",
	)
	.openapi({ example: "2026-12-24T09:00:00" });

export const TimeOfDay = z
	.string()
	.max(5)
	.refine((s) => parseTimeOfDay(s) !== null, "must be a 24-hour time HH:MM")
	.openapi({ example: "09:00" });

// ─── Wall time → instant ─────────────────────────────────────────────────────────────────────────

/**
 * Every instant at which the wall clock of `timeZone` reads `local`, ascending: one normally, two in a
 * fall-back overlap. In a spring-forward gap (`gap: true`) the time never occurs and `instants` holds
 * the single first instant after the gap (the transition itself).
 */
export function resolveWallTime(local: LocalDateTime, timeZone: string): { instants: Date[]; gap: boolean } {
	const w = wallMs(local);
	// The offsets in force a day either side (as Temporal does): any answer lies within ±14 h of `w`,
	// and zones do not change offset twice within a day.
	const offsets = new Set<number>([
		zoneOffsetMs(w - DAY_MS, timeZone),
		zoneOffsetMs(w, timeZone),
		zoneOffsetMs(w + DAY_MS, timeZone),
	]);
	const found: number[] = [];
	for (const o of offsets) {
		const candidate = w - o;
		if (zoneOffsetMs(candidate, timeZone) === o && !found.includes(candidate)) found.push(candidate);
	}
	if (found.length > 0) {
		found.sort((a, b) => a - b);
		return { instants: found.map((ms) => new Date(ms)), gap: false };
	}
	// Gap: the first instant whose wall clock reads at or after `local` is the end of the gap.
	const sorted = [...offsets].sort((a, b) => a - b);
	let lo = w - sorted[sorted.length - 1]!; // wall clock here is ≤ local
	let hi = w - sorted[0]! + HOUR_MS; // and here ≥ local
	const wallAt = (ms: number) => ms + zoneOffsetMs(ms, timeZone);
	lo = Math.floor(lo / 1000);
	hi = Math.ceil(hi / 1000);
	while (hi - lo > 1) {
		const mid = Math.floor((lo + hi) / 2);
		if (wallAt(mid * 1000) >= w) hi = mid;
		else lo = mid;
	}
	return { instants: [new Date(hi * 1000)], gap: true };
}

/**
 * The instant at which the wall clock of `timeZone` reads `localIso` (`YYYY-MM-DDTHH:MM[:SS]`).
 * Spring-forward gap → the first valid instant after the gap (New York 2026-03-08T02:30 → 03:00 EDT,
 * 07:00Z); fall-back overlap → the first occurrence (2026-11-01T01:30 → 01:30 EDT, 05:30Z).
 * Throws RangeError for a malformed `localIso` or an unknown zone.
 */
export function zonedWallTimeToInstant(localIso: string | LocalDateTime, timeZone: string): Date {
	const local = typeof localIso === "string" ? parseLocalDateTime(localIso) : localIso;
	if (!local) throw new RangeError(`not a local date-time: ${String(localIso)}`);
	if (!isValidTimeZone(timeZone)) throw new RangeError(`not an IANA time zone: ${timeZone}`);
	return resolveWallTime(local, timeZone).instants[0]!;
}

/** The next instant ≥ `from` at which `timeZone`'s wall clock reads `minutes` after midnight (any day). */
export function nextLocalTimeOfDay(from: Date, timeZone: string, minutes: number): Date {
	const p = localParts(from, timeZone);
	const today: LocalDateTime = {
		year: p.year,
		month: p.month,
		day: p.day,
		hour: Math.floor(minutes / 60),
		minute: minutes % 60,
		second: 0,
	};
	for (let d = 0; d < 3; d++) {
		const { instants } = resolveWallTime(addLocalDays(today, d), timeZone);
		const hit = instants.find((i) => i.getTime() >= from.getTime());
		if (hit) return hit;
	}
	// Unreachable for real zones (a wall time recurs at least every ~25 h); keep a sane answer anyway.
	return new Date(from.getTime() + DAY_MS);
}

// ─── Hour of week ────────────────────────────────────────────────────────────────────────────────

export const HOURS_PER_WEEK = 168;

/**
 * The local hour of the week of `instant` in `timeZone`: `weekday × 24 + hour` with Monday = 0, so
 * Monday 00:00–00:59 → 0, Monday 09:xx → 9, Sunday 23:xx → 167. Both passes through a repeated
 * fall-back hour map to the same bucket. Throws RangeError for an unknown zone.
 */
export function localHourOfWeek(instant: Date | number, timeZone: string): number {
	const p = localParts(instant, timeZone);
	return p.weekday * 24 + p.hour;
}
