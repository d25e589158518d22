/**
 * Scheduling, app settings: the AppSettings / patch schemas, quiet hours (plain, wrapping midnight,
 * DST days, hold vs drop, transactional and respect_quiet_hours bypasses), rolling frequency caps
 * per category, and that every scheduling schema generates into the OpenAPI document.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { Filter } from "../../core/rules/filter.js";
import {
	AppSettings,
	AppSettingsPatch,
	applySettingsPatch,
	CAP_WINDOW_MS,
	capExceeded,
	type FrequencyCap,
	inQuietHours,
	pruneSendLog,
	quietHoursDecision,
	quietHoursEnd,
} from "../../core/rules/settings.js";
import { TemplateBody } from "../../core/rules/templates.js";
import { When } from "../../core/rules/when.js";

const at = (s: string) => new Date(s);
const HOUR = 3_600_000;
const DAY = CAP_WINDOW_MS.day;

describe("AppSettings", () => {
	it("accepts a full document and an empty one", () => {
		const full = {
			frequency_caps: [
				{ max: 3, per: "day" },
				{ max: 1, per: "week", category: "promo" },
			],
			quiet_hours: { start: "22:00", end: "08:00", action: "hold" },
			default_timezone: "Europe/Berlin",
			vendor_fallback_ms: 3000,
			inbox_cap: 1000,
		};
		expect(AppSettings.parse(full)).toEqual(full);
		expect(AppSettings.parse({})).toEqual({});
	});

	it("refuses bad values, naming the field", () => {
		const path = (v: unknown) => AppSettings.safeParse(v).error?.issues.map((i) => i.path.join(".")) ?? [];
		expect(path({ frequency_caps: [{ max: 0, per: "day" }] })).toEqual(["frequency_caps.0.max"]);
		expect(path({ frequency_caps: [{ max: 1, per: "month" }] })).toEqual(["frequency_caps.0.per"]);
		expect(path({ frequency_caps: [{ max: 1, per: "day", category: "transactional" }] })).toEqual(["frequency_caps.0.category"]);
		expect(path({ quiet_hours: { start: "22:00", end: "25:00", action: "hold" } })).toEqual(["quiet_hours.end"]);
		expect(path({ quiet_hours: { start: "22:00", end: "22:00", action: "hold" } })).toEqual(["quiet_hours.end"]);
		expect(path({ quiet_hours: { start: "22:00", end: "08:00", action: "delay" } })).toEqual(["quiet_hours.action"]);
		expect(path({ default_timezone: "Mars/Olympus" })).toEqual(["default_timezone"]);
		expect(path({ vendor_fallback_ms: 600_001 })).toEqual(["vendor_fallback_ms"]);
		expect(path({ vendor_fallback_ms: -1 })).toEqual(["vendor_fallback_ms"]);
		expect(path({ inbox_cap: 9 })).toEqual(["inbox_cap"]);
		expect(path({ inbox_cap: 10_001 })).toEqual(["inbox_cap"]);
		expect(path({ inbox_cap: 10.5 })).toEqual(["inbox_cap"]);
		expect(AppSettings.safeParse({ unknown_setting: 1 }).success).toBe(false);
	});

	it("PATCH: present fields replace, null removes, absent keeps", () => {
		const current = AppSettings.parse({ inbox_cap: 500, default_timezone: "UTC", vendor_fallback_ms: 1000 });
		const patch = AppSettingsPatch.parse({ inbox_cap: 2000, default_timezone: null });
		expect(applySettingsPatch(current, patch)).toEqual({ inbox_cap: 2000, vendor_fallback_ms: 1000 });
		expect(AppSettingsPatch.safeParse({ inbox_cap: 5 }).success).toBe(false);
		expect(current).toEqual({ inbox_cap: 500, default_timezone: "UTC", vendor_fallback_ms: 1000 });
	});
});

describe("quiet hours", () => {
	const night = { start: "22:00", end: "08:00", action: "hold" } as const;
	const lunch = { start: "12:00", end: "13:30", action: "drop" } as const;
	const BERLIN = "Europe/Berlin"; // UTC+1 in January

	it("a window that wraps midnight: [22:00, 08:00) local", () => {
		expect(inQuietHours(at("2026-01-15T20:59:59Z"), BERLIN, night)).toBe(false); // 21:59:59
		expect(inQuietHours(at("2026-01-15T21:00:00Z"), BERLIN, night)).toBe(true); // 22:00
		expect(inQuietHours(at("2026-01-15T23:30:00Z"), BERLIN, night)).toBe(true); // 00:30
		expect(inQuietHours(at("2026-01-16T06:59:59Z"), BERLIN, night)).toBe(true); // 07:59:59
		expect(inQuietHours(at("2026-01-16T07:00:00Z"), BERLIN, night)).toBe(false); // 08:00
		// Same instant, other zone: 23:30Z is 18:30 in New York.
		expect(inQuietHours(at("2026-01-15T23:30:00Z"), "America/New_York", night)).toBe(false);
	});

	it("a window within one day: [12:00, 13:30)", () => {
		expect(inQuietHours(at("2026-01-15T10:59:00Z"), BERLIN, lunch)).toBe(false);
		expect(inQuietHours(at("2026-01-15T11:00:00Z"), BERLIN, lunch)).toBe(true);
		expect(inQuietHours(at("2026-01-15T12:29:59Z"), BERLIN, lunch)).toBe(true);
		expect(inQuietHours(at("2026-01-15T12:30:00Z"), BERLIN, lunch)).toBe(false);
		expect(inQuietHours(at("2026-01-15T20:00:00Z"), BERLIN, lunch)).toBe(false);
	});

	it("quietHoursEnd: the next local end after the instant", () => {
		// Before midnight → tomorrow's 08:00; after midnight → today's 08:00.
		expect(quietHoursEnd(at("2026-01-15T22:00:00Z"), BERLIN, night).toISOString()).toBe("2026-01-16T07:00:00.000Z");
		expect(quietHoursEnd(at("2026-01-16T02:00:00Z"), BERLIN, night).toISOString()).toBe("2026-01-16T07:00:00.000Z");
		expect(quietHoursEnd(at("2026-01-15T11:15:00Z"), BERLIN, lunch).toISOString()).toBe("2026-01-15T12:30:00.000Z");
		// Not in quiet hours → the instant itself.
		expect(quietHoursEnd(at("2026-01-15T15:00:00Z"), BERLIN, night).toISOString()).toBe("2026-01-15T15:00:00.000Z");
	});

	it("DST: an end inside the spring-forward gap, and the repeated fall-back hour", () => {
		const NY = "America/New_York";
		const toHalfTwo = { start: "23:00", end: "02:30", action: "hold" } as const;
		// 2026-03-08 01:50 EST: held until 02:30, which does not exist → 03:00 EDT (07:00Z).
		expect(quietHoursEnd(at("2026-03-08T06:50:00Z"), NY, toHalfTwo).toISOString()).toBe("2026-03-08T07:00:00.000Z");
		const toHalfOne = { start: "23:00", end: "01:30", action: "hold" } as const;
		// 2026-11-01 01:10 EDT → first 01:30 (EDT, 05:30Z).
		expect(quietHoursEnd(at("2026-11-01T05:10:00Z"), NY, toHalfOne).toISOString()).toBe("2026-11-01T05:30:00.000Z");
		// 01:10 EST (second pass, 06:10Z) is quiet again by the wall clock → the second 01:30 (06:30Z).
		expect(inQuietHours(at("2026-11-01T06:10:00Z"), NY, toHalfOne)).toBe(true);
		expect(quietHoursEnd(at("2026-11-01T06:10:00Z"), NY, toHalfOne).toISOString()).toBe("2026-11-01T06:30:00.000Z");
	});

	it("quietHoursDecision: hold/drop, transactional and respect_quiet_hours bypass", () => {
		const inside = at("2026-01-15T23:00:00Z");
		const outside = at("2026-01-15T12:00:00Z");
		expect(quietHoursDecision(inside, BERLIN, night)).toEqual({ action: "hold", until: at("2026-01-16T07:00:00Z") });
		expect(quietHoursDecision(inside, BERLIN, { ...night, action: "drop" })).toEqual({ action: "drop" });
		expect(quietHoursDecision(outside, BERLIN, night)).toEqual({ action: "send" });
		expect(quietHoursDecision(inside, BERLIN, night, { category: "transactional" })).toEqual({ action: "send" });
		expect(quietHoursDecision(inside, BERLIN, night, { respect_quiet_hours: false })).toEqual({ action: "send" });
		expect(quietHoursDecision(inside, BERLIN, night, { category: "promo", respect_quiet_hours: true }).action).toBe("hold");
		expect(quietHoursDecision(inside, BERLIN, undefined)).toEqual({ action: "send" });
	});
});

describe("frequency caps", () => {
	const NOW = Date.UTC(2026, 0, 15, 12);
	const daily: FrequencyCap = { max: 2, per: "day" };
	const weeklyPromo: FrequencyCap = { max: 1, per: "week", category: "promo" };

	it("rolling day window: (now − 24 h, now]", () => {
		expect(capExceeded([NOW - HOUR], [daily], undefined, NOW)).toEqual({ exceeded: false });
		expect(capExceeded([NOW - HOUR, NOW - 2 * HOUR], [daily], undefined, NOW)).toEqual({ exceeded: true, cap: daily });
		// Exactly 24 h ago has left the window; just inside still counts.
		expect(capExceeded([NOW - DAY, NOW - HOUR], [daily], undefined, NOW).exceeded).toBe(false);
		expect(capExceeded([NOW - DAY + 1, NOW - HOUR], [daily], undefined, new Date(NOW)).exceeded).toBe(true);
		// Future records (clock skew) do not count.
		expect(capExceeded([NOW + HOUR, NOW - HOUR], [daily], undefined, NOW).exceeded).toBe(false);
	});

	it("category caps count and cap only their category; plain caps count every non-transactional send", () => {
		const log = [
			{ at: NOW - 3 * DAY, category: "promo" },
			{ at: NOW - HOUR, category: "news" },
		];
		expect(capExceeded(log, [weeklyPromo], "promo", NOW)).toEqual({ exceeded: true, cap: weeklyPromo });
		expect(capExceeded(log, [weeklyPromo], "news", NOW).exceeded).toBe(false);
		expect(capExceeded(log, [weeklyPromo], undefined, NOW).exceeded).toBe(false);
		expect(capExceeded([{ at: NOW - 8 * DAY, category: "promo" }], [weeklyPromo], "promo", NOW).exceeded).toBe(false);
		const both = [daily, weeklyPromo];
		expect(capExceeded([NOW - HOUR, { at: NOW - 2 * HOUR, category: "news" }], both, "promo", NOW)).toEqual({
			exceeded: true,
			cap: daily,
		});
	});

	it("transactional bypasses caps and does not count toward them", () => {
		const full = [NOW - HOUR, NOW - 2 * HOUR];
		expect(capExceeded(full, [daily], "transactional", NOW)).toEqual({ exceeded: false });
		const otps = Array.from({ length: 10 }, (_, i) => ({ at: NOW - i * 60_000, category: "transactional" }));
		expect(capExceeded(otps, [daily], undefined, NOW).exceeded).toBe(false);
		expect(capExceeded([], undefined, undefined, NOW)).toEqual({ exceeded: false });
	});

	it("pruneSendLog keeps only what can still count", () => {
		const log = [NOW - 8 * DAY, { at: NOW - 7 * DAY + 1, category: "promo" }, NOW - HOUR];
		expect(pruneSendLog(log, NOW)).toEqual([{ at: NOW - 7 * DAY + 1, category: "promo" }, NOW - HOUR]);
	});
});

describe("OpenAPI", () => {
	it("every scheduling schema generates (recursive filter included)", () => {
		const app = new OpenAPIHono();
		const body = z.object({ when: When, filter: Filter.optional(), template: TemplateBody.optional(), settings: AppSettings });
		const route = createRoute({
			method: "post",
			path: "/probe",
			request: { body: { content: { "application/json": { schema: body } } } },
			responses: { 200: { description: "ok" } },
		});
		app.openapi(route, (c) => c.json({}, 200));
		const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
		const names = Object.keys(doc.components?.schemas ?? {});
		expect(names).toEqual(
			expect.arrayContaining([
				"ScheduleWhen",
				"WhenCron",
				"AudienceFilter",
				"AudienceFilterNode",
				"TemplateBody",
				"AppSettings",
				"QuietHours",
			]),
		);
		expect(JSON.stringify(doc.components?.schemas?.AudienceFilterNode)).toContain("#/components/schemas/AudienceFilterNode");
	});
});
