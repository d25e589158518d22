/**
 * Scheduling, `when`: time-zone arithmetic (gaps, overlaps, odd offsets), strict parsers, the `When`
 * schema's field-named errors, and `nextRun` for every kind, including cron across DST changes in
 * America/New_York and Europe/Berlin (croner's Vixie-cron behaviour, pinned here).
 */
import { describe, expect, it } from "vitest";
import {
	addLocalDays,
	isValidTimeZone,
	localParts,
	parseLocalDateTime,
	parseRfc3339,
	resolveWallTime,
	zoneOffsetMs,
} from "../../core/rules/time.js";
import {
	cronProblem,
	localHourOfWeek,
	localTimeGroups,
	nextRun,
	occurrenceKey,
	upcomingRuns,
	When,
	zonedWallTimeToInstant,
} from "../../core/rules/when.js";

const iso = (d: Date | null) => d?.toISOString() ?? null;
const at = (s: string) => new Date(s);

function issues(input: unknown) {
	const r = When.safeParse(input);
	expect(r.success).toBe(false);
	return r.error!.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

describe("zonedWallTimeToInstant", () => {
	it("converts ordinary wall times in several zones", () => {
		expect(iso(zonedWallTimeToInstant("2026-01-15T09:00", "America/New_York"))).toBe("2026-01-15T14:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-07-15T09:00:00", "America/New_York"))).toBe("2026-07-15T13:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-07-15T09:00:00", "Europe/Berlin"))).toBe("2026-07-15T07:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-12-24T09:00:00", "Asia/Shanghai"))).toBe("2026-12-24T01:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-12-24T09:00:00", "UTC"))).toBe("2026-12-24T09:00:00.000Z");
		// Quarter- and half-hour offsets.
		expect(iso(zonedWallTimeToInstant("2026-03-01T12:00:00", "Asia/Kathmandu"))).toBe("2026-03-01T06:15:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-03-01T12:00:00", "Asia/Kolkata"))).toBe("2026-03-01T06:30:00.000Z");
		// The far ends of the offset range, including a date-line crossing.
		expect(iso(zonedWallTimeToInstant("2026-01-01T00:00:00", "Pacific/Kiritimati"))).toBe("2025-12-31T10:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-01-01T00:00:00", "Etc/GMT+12"))).toBe("2026-01-01T12:00:00.000Z");
	});

	it("spring-forward gap → the first valid instant after the gap", () => {
		// New York 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z.
		expect(iso(zonedWallTimeToInstant("2026-03-08T02:30:00", "America/New_York"))).toBe("2026-03-08T07:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-03-08T02:00:00", "America/New_York"))).toBe("2026-03-08T07:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-03-08T03:00:00", "America/New_York"))).toBe("2026-03-08T07:00:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-03-08T01:59:59", "America/New_York"))).toBe("2026-03-08T06:59:59.000Z");
		// Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z.
		expect(iso(zonedWallTimeToInstant("2026-03-29T02:30:00", "Europe/Berlin"))).toBe("2026-03-29T01:00:00.000Z");
		// Lord Howe moves by 30 minutes (02:00 → 02:30 on 2026-10-04, +10:30 → +11).
		expect(iso(zonedWallTimeToInstant("2026-10-04T02:15:00", "Australia/Lord_Howe"))).toBe("2026-10-03T15:30:00.000Z");
		expect(resolveWallTime(parseLocalDateTime("2026-03-08T02:30")!, "America/New_York").gap).toBe(true);
		// Samoa skipped 2011-12-30 entirely (−10 → +14): the whole day is a gap ending at 31 Dec 00:00.
		expect(iso(zonedWallTimeToInstant("2011-12-30T12:00", "Pacific/Apia"))).toBe("2011-12-30T10:00:00.000Z");
	});

	it("fall-back overlap → the first occurrence; resolveWallTime lists both", () => {
		expect(iso(zonedWallTimeToInstant("2026-11-01T01:30:00", "America/New_York"))).toBe("2026-11-01T05:30:00.000Z");
		expect(iso(zonedWallTimeToInstant("2026-10-25T02:30:00", "Europe/Berlin"))).toBe("2026-10-25T00:30:00.000Z");
		const both = resolveWallTime(parseLocalDateTime("2026-11-01T01:30:00")!, "America/New_York");
		expect(both).toEqual({ instants: [at("2026-11-01T05:30:00Z"), at("2026-11-01T06:30:00Z")], gap: false });
		const berlin = resolveWallTime(parseLocalDateTime("2026-10-25T02:30:00")!, "Europe/Berlin");
		expect(berlin.instants.map(iso)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z"]);
	});

	it("round-trips every hour of a DST year (wall → instant → wall) outside gaps", () => {
		for (const zone of ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe"]) {
			let checked = 0;
			for (let h = 0; h < 366 * 24; h += 7) {
				const instant = Date.UTC(2026, 0, 1) + h * 3_600_000;
				const p = localParts(instant, zone);
				const local = { ...p };
				const back = resolveWallTime(local, zone);
				expect(back.instants.map((d) => d.getTime())).toContain(instant);
				checked++;
			}
			expect(checked).toBeGreaterThan(1000);
		}
	});

	it("refuses malformed input with RangeError", () => {
		expect(() => zonedWallTimeToInstant("2026-02-30T09:00", "UTC")).toThrow(RangeError);
		expect(() => zonedWallTimeToInstant("2026-01-01T09:00Z", "UTC")).toThrow(RangeError);
		expect(() => zonedWallTimeToInstant("2026-01-01T09:00", "Mars/Olympus")).toThrow(RangeError);
	});
});

describe("time helpers", () => {
	it("localHourOfWeek: Monday 00:xx = 0 … Sunday 23:xx = 167, in the given zone", () => {
		// 2026-01-05 is a Monday.
		expect(localHourOfWeek(at("2026-01-05T00:00:00Z"), "UTC")).toBe(0);
		expect(localHourOfWeek(at("2026-01-05T09:59:59Z"), "UTC")).toBe(9);
		expect(localHourOfWeek(at("2026-01-11T23:30:00Z"), "UTC")).toBe(167);
		// Monday 00:30 UTC is Sunday 19:30 in New York and Monday 08:30 in Shanghai.
		expect(localHourOfWeek(at("2026-01-05T00:30:00Z"), "America/New_York")).toBe(6 * 24 + 19);
		expect(localHourOfWeek(at("2026-01-05T00:30:00Z"), "Asia/Shanghai")).toBe(8);
		// Both passes through New York's repeated 01:xx (Sunday) share a bucket.
		expect(localHourOfWeek(at("2026-11-01T05:30:00Z"), "America/New_York")).toBe(6 * 24 + 1);
		expect(localHourOfWeek(at("2026-11-01T06:30:00Z"), "America/New_York")).toBe(6 * 24 + 1);
		expect(() => localHourOfWeek(new Date(), "Nowhere/Land")).toThrow(RangeError);
	});

	it("zoneOffsetMs follows DST", () => {
		expect(zoneOffsetMs(at("2026-01-15T12:00:00Z"), "Europe/Berlin")).toBe(3_600_000);
		expect(zoneOffsetMs(at("2026-07-15T12:00:00Z"), "Europe/Berlin")).toBe(7_200_000);
		expect(zoneOffsetMs(at("2026-07-15T12:00:00Z"), "America/New_York")).toBe(-4 * 3_600_000);
	});

	it("parsers are strict", () => {
		expect(parseRfc3339("2026-12-24T09:00:00Z")?.toISOString()).toBe("2026-12-24T09:00:00.000Z");
		expect(parseRfc3339("2026-12-24T09:00:00.250+08:00")?.toISOString()).toBe("2026-12-24T01:00:00.250Z");
		expect(parseRfc3339("2026-12-24t09:00:00-05:30")?.toISOString()).toBe("2026-12-24T14:30:00.000Z");
		for (const bad of [
			"2026-02-30T00:00:00Z",
			"2026-12-24T09:00:00",
			"2026-12-24T24:00:00Z",
			"2026-12-24 09:00:00Z",
			"tomorrow",
			"",
		]) {
			expect(parseRfc3339(bad), bad).toBeNull();
		}
		expect(parseLocalDateTime("2028-02-29T23:59")).toEqual({ year: 2028, month: 2, day: 29, hour: 23, minute: 59, second: 0 });
		for (const bad of ["2027-02-29T09:00", "2026-12-24T09:00Z", "2026-12-24T09:00+01:00", "2026-12-24", "2026-12-24T9:00"]) {
			expect(parseLocalDateTime(bad), bad).toBeNull();
		}
		expect(addLocalDays(parseLocalDateTime("2026-03-01T09:00")!, -1)).toMatchObject({ year: 2026, month: 2, day: 28 });
		expect(addLocalDays(parseLocalDateTime("2026-12-31T09:00")!, 1)).toMatchObject({ year: 2027, month: 1, day: 1 });
	});

	it("isValidTimeZone accepts IANA names, refuses offsets and junk", () => {
		for (const ok of ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "asia/shanghai"]) {
			expect(isValidTimeZone(ok), ok).toBe(true);
		}
		for (const bad of ["+05:00", "-0800", "Mars/Olympus", "", "Europe/Berlin; DROP TABLE", 42, null]) {
			expect(isValidTimeZone(bad), String(bad)).toBe(false);
		}
	});
});

describe("When schema", () => {
	it("accepts the four shapes", () => {
		const ok = [
			{ at: "2026-12-24T09:00:00+08:00" },
			{ cron: "0 9 * * 1-5", timezone: "Asia/Shanghai" },
			{ cron: "@daily", timezone: "UTC", until: "2027-01-01T00:00:00Z", max_runs: 10 },
			{ cron: "30 9 * * MON#2", timezone: "Europe/Berlin" },
			{ local_time: "2026-12-24T09:00" },
			{ local_time: "2026-12-24T09:00:00" },
			{ optimal: { within_hours: 24, fallback_local_time: "09:00" } },
		];
		for (const w of ok) expect(When.safeParse(w).success, JSON.stringify(w)).toBe(true);
	});

	it("names the field for a bad cron expression", () => {
		for (const cron of ["61 * * * *", "* * * *", "0 0 9 * * 1", "2030-01-01T00:00:00", "0 0 30 2 *", "", "@reboot"]) {
			const errs = issues({ cron, timezone: "UTC" });
			expect(errs, cron).toHaveLength(1);
			expect(errs[0]!.path, cron).toBe("cron");
		}
		expect(issues({ cron: "61 * * * *", timezone: "UTC" })[0]!.message).toMatch(/minute/);
		expect(issues({ cron: "0 0 30 2 *", timezone: "UTC" })[0]!.message).toMatch(/never fires/);
		expect(cronProblem("0 9 * * 1-5")).toBeNull();
	});

	it("names the field for a bad time zone", () => {
		for (const timezone of ["Mars/Olympus", "+05:00", "", "EST5EDT;"]) {
			const errs = issues({ cron: "0 9 * * *", timezone });
			expect(
				errs.map((e) => e.path),
				timezone,
			).toEqual(["timezone"]);
		}
		expect(issues({ cron: "0 9 * * *", timezone: "Mars/Olympus" })[0]!.message).toMatch(/IANA/);
	});

	it("refuses bad instants, local times, windows and mixed shapes", () => {
		expect(issues({ at: "2026-12-24T09:00:00" }).map((e) => e.path)).toEqual(["at"]);
		expect(issues({ at: "2026-02-30T09:00:00Z" }).map((e) => e.path)).toEqual(["at"]);
		expect(issues({ cron: "0 9 * * *", timezone: "UTC", until: "soon" }).map((e) => e.path)).toEqual(["until"]);
		expect(issues({ cron: "0 9 * * *", timezone: "UTC", max_runs: 0 }).map((e) => e.path)).toEqual(["max_runs"]);
		expect(issues({ local_time: "2026-12-24T09:00:00Z" }).map((e) => e.path)).toEqual(["local_time"]);
		expect(issues({ optimal: { within_hours: 0, fallback_local_time: "09:00" } }).map((e) => e.path)).toEqual([
			"optimal.within_hours",
		]);
		expect(issues({ optimal: { within_hours: 169, fallback_local_time: "09:00" } }).map((e) => e.path)).toEqual([
			"optimal.within_hours",
		]);
		expect(issues({ optimal: { within_hours: 24, fallback_local_time: "24:00" } }).map((e) => e.path)).toEqual([
			"optimal.fallback_local_time",
		]);
		expect(When.safeParse({ at: "2026-12-24T09:00:00Z", cron: "0 9 * * *", timezone: "UTC" }).success).toBe(false);
		expect(When.safeParse({ cron: "0 9 * * *" }).success).toBe(false);
		expect(When.safeParse({}).success).toBe(false);
	});
});

describe("nextRun", () => {
	const cron = (c: string, timezone: string, extra: Partial<{ until: string; max_runs: number }> = {}) =>
		When.parse({ cron: c, timezone, ...extra });

	it("at: the instant once, even when overdue; then null", () => {
		const w = When.parse({ at: "2026-12-24T09:00:00+08:00" });
		expect(iso(nextRun(w, at("2026-01-01T00:00:00Z"), 0))).toBe("2026-12-24T01:00:00.000Z");
		expect(iso(nextRun(w, at("2027-01-01T00:00:00Z"), 0))).toBe("2026-12-24T01:00:00.000Z");
		expect(nextRun(w, at("2026-01-01T00:00:00Z"), 1)).toBeNull();
	});

	it("cron: evaluated in the schedule's zone, strictly after `after`", () => {
		const w = cron("0 9 * * 1-5", "Asia/Shanghai");
		// Friday 2026-01-09 09:00 CST = 01:00Z; the next is Monday 2026-01-12.
		expect(iso(nextRun(w, at("2026-01-09T00:00:00Z"), 0))).toBe("2026-01-09T01:00:00.000Z");
		expect(iso(nextRun(w, at("2026-01-09T01:00:00Z"), 1))).toBe("2026-01-12T01:00:00.000Z");
		// Overdue: passing the last occurrence (not the clock) returns the missed one, in the past.
		expect(iso(nextRun(w, at("2026-01-12T01:00:00Z"), 2))).toBe("2026-01-13T01:00:00.000Z");
	});

	it("cron: max_runs and inclusive until end the schedule", () => {
		const w = cron("0 9 * * *", "UTC", { max_runs: 2 });
		expect(iso(nextRun(w, at("2026-01-01T00:00:00Z"), 1))).toBe("2026-01-01T09:00:00.000Z");
		expect(nextRun(w, at("2026-01-01T00:00:00Z"), 2)).toBeNull();
		const u = cron("0 9 * * *", "UTC", { until: "2026-01-02T09:00:00Z" });
		expect(iso(nextRun(u, at("2026-01-01T09:00:00Z"), 1))).toBe("2026-01-02T09:00:00.000Z");
		expect(nextRun(u, at("2026-01-02T09:00:00Z"), 2)).toBeNull();
		expect(upcomingRuns(cron("0 9 * * *", "UTC", { max_runs: 3 }), at("2026-01-01T00:00:00Z"), 0, 10).map(iso)).toEqual([
			"2026-01-01T09:00:00.000Z",
			"2026-01-02T09:00:00.000Z",
			"2026-01-03T09:00:00.000Z",
		]);
	});

	describe("across DST (documented: croner's Vixie-cron behaviour)", () => {
		it("America/New_York spring forward: a 02:30 daily job runs at 03:00 EDT that day", () => {
			const runs = upcomingRuns(cron("30 2 * * *", "America/New_York"), at("2026-03-07T00:00:00Z"), 0, 3).map(iso);
			expect(runs).toEqual([
				"2026-03-07T07:30:00.000Z", // 02:30 EST
				"2026-03-08T07:00:00.000Z", // 02:30 does not exist → 03:00 EDT
				"2026-03-09T06:30:00.000Z", // 02:30 EDT
			]);
		});

		it("America/New_York fall back: a 01:30 daily job runs once, at the first 01:30 (EDT)", () => {
			const runs = upcomingRuns(cron("30 1 * * *", "America/New_York"), at("2026-10-31T00:00:00Z"), 0, 3).map(iso);
			expect(runs).toEqual([
				"2026-10-31T05:30:00.000Z", // 01:30 EDT
				"2026-11-01T05:30:00.000Z", // first 01:30 (EDT); not again at 06:30Z (01:30 EST)
				"2026-11-02T06:30:00.000Z", // 01:30 EST
			]);
			// Even asked from between the two passes, the second pass does not run.
			expect(iso(nextRun(cron("30 1 * * *", "America/New_York"), at("2026-11-01T05:30:00Z"), 1))).toBe(
				"2026-11-02T06:30:00.000Z",
			);
		});

		it("Europe/Berlin: 02:30 runs at 03:00 CEST on spring-forward day and once on fall-back day", () => {
			const spring = upcomingRuns(cron("30 2 * * *", "Europe/Berlin"), at("2026-03-28T00:00:00Z"), 0, 3).map(iso);
			expect(spring).toEqual(["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]);
			const fall = upcomingRuns(cron("30 2 * * *", "Europe/Berlin"), at("2026-10-24T00:00:00Z"), 0, 3).map(iso);
			expect(fall).toEqual(["2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
		});

		it("interval jobs skip the gap and run through both passes of the repeated hour", () => {
			const ny = cron("*/30 * * * *", "America/New_York");
			expect(upcomingRuns(ny, at("2026-03-08T06:15:00Z"), 0, 3).map(iso)).toEqual([
				"2026-03-08T06:30:00.000Z", // 01:30 EST
				"2026-03-08T07:00:00.000Z", // 03:00 EDT (02:00 and 02:30 never happen)
				"2026-03-08T07:30:00.000Z",
			]);
			expect(upcomingRuns(ny, at("2026-11-01T04:45:00Z"), 0, 5).map(iso)).toEqual([
				"2026-11-01T05:00:00.000Z", // 01:00 EDT
				"2026-11-01T05:30:00.000Z", // 01:30 EDT
				"2026-11-01T06:00:00.000Z", // 01:00 EST
				"2026-11-01T06:30:00.000Z", // 01:30 EST
				"2026-11-01T07:00:00.000Z", // 02:00 EST
			]);
			const berlin = cron("0 * * * *", "Europe/Berlin");
			expect(upcomingRuns(berlin, at("2026-10-24T23:30:00Z"), 0, 4).map(iso)).toEqual([
				"2026-10-25T00:00:00.000Z", // 02:00 CEST
				"2026-10-25T01:00:00.000Z", // 02:00 CET
				"2026-10-25T02:00:00.000Z", // 03:00 CET
				"2026-10-25T03:00:00.000Z",
			]);
		});
	});

	it("local_time: one firing per group of zones sharing the instant, in order; null after the last", () => {
		const w = When.parse({ local_time: "2026-12-24T09:00" });
		const zones = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Singapore", "Europe/Paris", "Bad/Zone"];
		expect(localTimeGroups("2026-12-24T09:00", zones).map((g) => [iso(g.at), g.zones])).toEqual([
			["2026-12-24T01:00:00.000Z", ["Asia/Shanghai", "Asia/Singapore"]],
			["2026-12-24T08:00:00.000Z", ["Europe/Berlin", "Europe/Paris"]],
			["2026-12-24T14:00:00.000Z", ["America/New_York"]],
		]);
		expect(iso(nextRun(w, at("2026-12-01T00:00:00Z"), 0, { zones }))).toBe("2026-12-24T01:00:00.000Z");
		expect(iso(nextRun(w, at("2026-12-24T01:00:00Z"), 1, { zones }))).toBe("2026-12-24T08:00:00.000Z");
		expect(nextRun(w, at("2026-12-24T14:00:00Z"), 3, { zones })).toBeNull();
		// Without zones: every zone on Earth, from UTC+14 to UTC−12.
		expect(iso(nextRun(w, at("2026-12-01T00:00:00Z"), 0))).toBe("2026-12-23T19:00:00.000Z");
		expect(iso(nextRun(w, at("2026-12-24T20:00:00Z"), 0))).toBe("2026-12-24T21:00:00.000Z");
	});

	it("optimal: hand over now, once", () => {
		const w = When.parse({ optimal: { within_hours: 24, fallback_local_time: "09:00" } });
		expect(iso(nextRun(w, at("2026-05-01T10:00:00Z"), 0))).toBe("2026-05-01T10:00:00.000Z");
		expect(nextRun(w, at("2026-05-01T10:00:00Z"), 1)).toBeNull();
	});

	it("occurrenceKey is stable per schedule and occurrence", () => {
		expect(occurrenceKey("sch_1", at("2026-03-08T07:00:00Z"))).toBe("sch_1@2026-03-08T07:00:00.000Z");
		expect(occurrenceKey("sch_1", at("2026-03-08T07:00:00Z"))).toBe(occurrenceKey("sch_1", new Date(Date.UTC(2026, 2, 8, 7))));
		expect(occurrenceKey("sch_1", at("2026-03-08T07:00:00Z"))).not.toBe(occurrenceKey("sch_2", at("2026-03-08T07:00:00Z")));
	});
});
