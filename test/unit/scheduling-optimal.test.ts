/**
 * Scheduling, optimal time: seeded hour-of-week histograms → the best local hour in the window,
 * ties to the earliest, the current hour as "now", odd-offset zones, DST days, and the documented
 * fallback (too few events → fallback local time inside the window, else now).
 */
import { describe, expect, it } from "vitest";
import {
	emptyHistogram,
	HOURS_PER_WEEK,
	OPTIMAL_MIN_EVENTS,
	optimalSendTime,
	recordEngagement,
} from "../../core/rules/optimal.js";
import { localHourOfWeek } from "../../core/rules/when.js";

const MON = 0;
const TUE = 1;
const SAT = 5;
const SUN = 6;
const bucket = (day: number, hour: number) => day * 24 + hour;

function seeded(counts: Record<number, number>): number[] {
	const h = emptyHistogram();
	for (const [b, c] of Object.entries(counts)) h[Number(b)] = c;
	return h;
}

const NY = "America/New_York";
// Monday 2026-01-05 10:15 EST.
const NOW = new Date("2026-01-05T15:15:00Z");
const send = (histogram: number[], over: Partial<Parameters<typeof optimalSendTime>[0]> = {}) =>
	optimalSendTime({ histogram, timeZone: NY, now: NOW, withinHours: 24, fallbackLocalTime: "09:00", ...over }).toISOString();

describe("optimalSendTime", () => {
	it("picks the start of the best local hour within the window", () => {
		const h = seeded({ [bucket(MON, 19)]: 10, [bucket(TUE, 8)]: 12, [bucket(TUE, 14)]: 50 });
		// Tue 14:00 is past the 24 h window (ends Tue 10:15); Tue 08:00 EST = 13:00Z beats Mon 19:00.
		expect(send(h)).toBe("2026-01-06T13:00:00.000Z");
		// A 12 h window ends Mon 22:15: only Mon 19:00 EST (00:00Z Tue) is in it.
		expect(send(h, { withinHours: 12 })).toBe("2026-01-06T00:00:00.000Z");
		// A 30 h window reaches Tue 14:00 EST (19:00Z).
		expect(send(h, { withinHours: 30 })).toBe("2026-01-06T19:00:00.000Z");
	});

	it("the window end is inclusive: an hour starting exactly at now + within_hours counts", () => {
		const now = new Date("2026-01-05T15:00:00Z"); // Mon 10:00 EST
		const h = seeded({ [bucket(MON, 14)]: 9 });
		expect(send(h, { now, withinHours: 4 })).toBe("2026-01-05T19:00:00.000Z");
		expect(send(h, { now, withinHours: 3, fallbackLocalTime: "23:00" })).toBe(now.toISOString());
	});

	it("ties go to the earliest hour", () => {
		const h = seeded({ [bucket(MON, 20)]: 7, [bucket(MON, 18)]: 7, [bucket(TUE, 7)]: 7 });
		expect(send(h)).toBe("2026-01-05T23:00:00.000Z"); // Mon 18:00 EST
	});

	it("the current hour being best means now, not its past start", () => {
		const h = seeded({ [bucket(MON, 10)]: 20, [bucket(MON, 11)]: 5 });
		expect(send(h)).toBe(NOW.toISOString());
	});

	it("uses local hours of the user's zone (quarter-hour offset)", () => {
		// Asia/Kathmandu is UTC+05:45: Tue 09:00 local = Tue 03:15Z.
		const h = seeded({ [bucket(TUE, 9)]: 5 });
		const r = optimalSendTime({
			histogram: h,
			timeZone: "Asia/Kathmandu",
			now: new Date("2026-01-05T12:00:00Z"),
			withinHours: 24,
			fallbackLocalTime: "09:00",
		});
		expect(r.toISOString()).toBe("2026-01-06T03:15:00.000Z");
		expect(localHourOfWeek(r, "Asia/Kathmandu")).toBe(bucket(TUE, 9));
	});

	it("on a spring-forward day the missing local hour is never a candidate", () => {
		// Saturday 2026-03-07 12:00 EST; Sunday 02:00 does not exist in New York.
		const now = new Date("2026-03-07T17:00:00Z");
		const h = seeded({ [bucket(SUN, 2)]: 100, [bucket(SUN, 3)]: 4 });
		expect(send(h, { now })).toBe("2026-03-08T07:00:00.000Z"); // Sun 03:00 EDT
		const r = optimalSendTime({ histogram: h, timeZone: NY, now, withinHours: 48, fallbackLocalTime: "09:00" });
		expect(localHourOfWeek(r, NY)).toBe(bucket(SUN, 3));
	});

	it("on a fall-back day the first pass of the repeated hour wins", () => {
		// Saturday 2026-10-31 12:00 EDT; Sunday 01:00 happens at 05:00Z (EDT) and again at 06:00Z (EST).
		const now = new Date("2026-10-31T16:00:00Z");
		expect(send(seeded({ [bucket(SUN, 1)]: 10 }), { now })).toBe("2026-11-01T05:00:00.000Z");
		// 02:00 EST comes 2 h after 01:00 EDT (the 25-hour day).
		expect(send(seeded({ [bucket(SUN, 2)]: 10 }), { now })).toBe("2026-11-01T07:00:00.000Z");
	});

	it("handles a 30-minute DST shift (Australia/Lord_Howe, 2026-10-04 02:00 → 02:30)", () => {
		const lh = (counts: Record<number, number>) =>
			optimalSendTime({
				histogram: seeded(counts),
				timeZone: "Australia/Lord_Howe",
				now: new Date("2026-10-03T01:30:00Z"), // Sat 12:00 at +10:30
				withinHours: 24,
				fallbackLocalTime: "09:00",
			}).toISOString();
		expect(lh({ [bucket(SUN, 1)]: 5 })).toBe("2026-10-03T14:30:00.000Z"); // 01:00 at +10:30
		expect(lh({ [bucket(SUN, 3)]: 5 })).toBe("2026-10-03T16:00:00.000Z"); // 03:00 at +11
		expect(lh({ [bucket(SAT, 20)]: 5 })).toBe("2026-10-03T09:30:00.000Z"); // 20:00 at +10:30
	});

	it(`falls back to fallback_local_time with fewer than ${OPTIMAL_MIN_EVENTS} events in the window`, () => {
		// Mon 10:15 EST: the next 09:00 EST is Tue 14:00Z, inside 24 h.
		expect(send(emptyHistogram())).toBe("2026-01-06T14:00:00.000Z");
		expect(send(seeded({ [bucket(MON, 20)]: 2 }))).toBe("2026-01-06T14:00:00.000Z");
		// Events outside the window do not count.
		expect(send(seeded({ [bucket(SAT, 12)]: 500 }))).toBe("2026-01-06T14:00:00.000Z");
		// At the minimum, the histogram wins.
		expect(send(seeded({ [bucket(MON, 20)]: 3 }))).toBe("2026-01-06T01:00:00.000Z");
		// minEvents can be tuned.
		expect(send(seeded({ [bucket(MON, 20)]: 1 }), { minEvents: 1 })).toBe("2026-01-06T01:00:00.000Z");
		// A fallback later today.
		expect(send(emptyHistogram(), { fallbackLocalTime: "18:30" })).toBe("2026-01-05T23:30:00.000Z");
	});

	it("sends now when the fallback time lies past the window", () => {
		// Window of 6 h from Mon 10:15 EST ends 16:15; the next 09:00 is tomorrow.
		expect(send(emptyHistogram(), { withinHours: 6 })).toBe(NOW.toISOString());
		expect(send(emptyHistogram(), { withinHours: 6, fallbackLocalTime: "16:00" })).toBe("2026-01-05T21:00:00.000Z");
	});

	it("ignores junk entries and short histograms", () => {
		const h = [Number.NaN, -5, Number.POSITIVE_INFINITY] as number[];
		expect(send(h)).toBe("2026-01-06T14:00:00.000Z");
		const long = seeded({ [bucket(MON, 20)]: 5 });
		expect(send([...long, 999, 999])).toBe("2026-01-06T01:00:00.000Z");
	});

	it("agrees with a brute-force reference (15-minute walk) across zones and DST dates", () => {
		// Deterministic PRNG (mulberry32) so failures reproduce.
		let seed = 0x5eed;
		const rand = () => {
			seed = (seed + 0x6d2b79f5) | 0;
			let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
			x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
			return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
		};
		const reference = (h: number[], tz: string, now: number, hours: number): number | null => {
			const end = now + hours * 3_600_000;
			const times = [now];
			for (let t = Math.floor(now / 900_000) * 900_000 + 900_000; t <= end; t += 900_000) {
				const f = new Intl.DateTimeFormat("en-US", { timeZone: tz, minute: "numeric", second: "numeric" }).formatToParts(t);
				if (Number(f.find((p) => p.type === "minute")!.value) === 0 && Number(f.find((p) => p.type === "second")!.value) === 0) {
					times.push(t);
				}
			}
			let best: [number, number] | null = null;
			for (const t of times) {
				const c = h[localHourOfWeek(t, tz)]!;
				if (!best || c > best[1]) best = [t, c];
			}
			return best && best[1] > 0 ? best[0] : null;
		};
		const zones = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "Australia/Sydney", "UTC"];
		const anchors = [
			"2026-03-08T04:00:00Z",
			"2026-03-28T20:00:00Z",
			"2026-10-03T10:00:00Z",
			"2026-10-31T22:00:00Z",
			"2026-04-04T12:00:00Z",
		];
		let compared = 0;
		for (const tz of zones) {
			for (const anchor of anchors) {
				for (let k = 0; k < 4; k++) {
					const now = new Date(anchor).getTime() + Math.floor(rand() * 24 * 60) * 60_000 + Math.floor(rand() * 60) * 1000;
					const h = emptyHistogram().map(() => (rand() < 0.1 ? Math.floor(rand() * 5) + 3 : 0));
					const hours = 1 + Math.floor(rand() * 72);
					const expected = reference(h, tz, now, hours);
					if (expected === null) continue;
					const got = optimalSendTime({
						histogram: h,
						timeZone: tz,
						now: new Date(now),
						withinHours: hours,
						fallbackLocalTime: "09:00",
						minEvents: 1,
					});
					expect(got.getTime(), `${tz} ${new Date(now).toISOString()} ${hours}h`).toBe(expected);
					compared++;
				}
			}
		}
		expect(compared).toBeGreaterThan(60);
	});

	it("recordEngagement bumps the local hour-of-week bucket without mutating its input", () => {
		const h0 = emptyHistogram();
		expect(h0).toHaveLength(HOURS_PER_WEEK);
		const h1 = recordEngagement(h0, new Date("2026-01-05T15:15:00Z"), NY); // Mon 10:15 EST
		const h2 = recordEngagement(h1, new Date("2026-01-05T15:59:59Z"), NY);
		expect(h0.every((c) => c === 0)).toBe(true);
		expect(h2[bucket(MON, 10)]).toBe(2);
		expect(h2.reduce((a, b) => a + b, 0)).toBe(2);
		const h3 = recordEngagement(h2, new Date("2026-01-05T15:15:00Z"), "Asia/Tokyo"); // Tue 00:15 JST
		expect(h3[bucket(TUE, 0)]).toBe(1);
	});
});
