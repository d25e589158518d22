/**
 * App settings for `GET/PATCH /v1/settings` (stored as the `apps.settings` JSON), and the pure
 * delivery-time rules they drive: frequency caps and quiet hours.
 *
 *   {"frequency_caps": [{"max": 3, "per": "day"}, {"max": 1, "per": "week", "category": "promo"}],
 *    "quiet_hours": {"start": "22:00", "end": "08:00", "action": "hold"},
 *    "default_timezone": "Europe/Berlin", "vendor_fallback_ms": 3000, "inbox_cap": 1000}
 *
 * Why it is built this way:
 * - Enforcement happens in each user's inbox Durable Object at delivery time, so the helpers take
 *   plain values (timestamps, an instant, a zone) and return decisions; the DO owns storage.
 * - Frequency caps are rolling windows (day = the last 24 h, week = the last 7 × 24 h, ending now),
 *   not calendar days, so there is no burst at midnight and no per-zone calendar. A cap without
 *   `category` counts every capped send; a cap with one applies only to messages of that category
 *   and counts only sends of it. `capExceeded` answers whether sending ONE MORE would exceed a cap
 *   (count in window ≥ max), first matching cap in list order.
 * - Category `transactional` bypasses caps and quiet hours (documented contract): such a message is
 *   never capped, never held, and its sends do not count toward any cap (an OTP storm must not
 *   starve the next newsletter, nor the other way round).
 * - Quiet hours are local wall-clock minutes in the user's zone (the app default when the user has
 *   none): [start, end), so 22:00–08:00 wraps midnight and holds 22:00:00 … 07:59:59. start = end is
 *   refused (empty or all day would both be surprising). On DST days the rule follows the wall clock:
 *   a window edge inside a spring-forward gap ends at the first instant after the gap, and in a
 *   repeated fall-back hour each pass is judged by its wall time, so `quietHoursEnd` answers the
 *   end's next occurrence after the instant (the second 01:30 when the first has already passed).
 * - PATCH semantics: `AppSettingsPatch` takes the same fields, each nullable; `null` removes the
 *   setting (back to the default), an absent field keeps it (`applySettingsPatch`).
 */
import { z } from "../zod.js";
import { localParts, nextLocalTimeOfDay, parseTimeOfDay, TimeOfDay, TimeZone } from "./time.js";
import { VendorQuotas } from "./vendor-quotas.js";

const DAY_MS = 86_400_000;
export const CAP_WINDOW_MS = { day: DAY_MS, week: 7 * DAY_MS } as const;
/** Sends older than this can never count toward a cap again (`pruneSendLog`). */
export const LONGEST_CAP_WINDOW_MS = CAP_WINDOW_MS.week;
export const TRANSACTIONAL = "transactional";
export const MAX_FREQUENCY_CAPS = 20;

const Category = z
	.string()
	.regex(/^[A-Za-z0-9_.:@-]{1,64}$/, "must be 1–64 characters of [A-Za-z0-9_.:@-]")
	.refine((c) => c !== TRANSACTIONAL, "transactional messages are never capped");

export const FrequencyCap = z
	.strictObject({
		max: z.number().int().min(1).max(100_000),
		per: z.enum(["day", "week"]).openapi({ description: "Rolling window: the last 24 h or the last 7 days." }),
		category: Category.optional().openapi({ description: "Only messages of this category count and are capped." }),
	})
	.openapi("FrequencyCap");
export type FrequencyCap = z.infer<typeof FrequencyCap>;

export const QuietHours = z
	.strictObject({
		start: TimeOfDay,
		end: TimeOfDay,
		action: z.enum(["hold", "drop"]).openapi({ description: "hold: deliver when quiet hours end; drop: count as dropped." }),
	})
	.refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] })
	.openapi("QuietHours", { description: "In the user's local time; [start, end), may wrap midnight (22:00–08:00)." });
export type QuietHours = z.infer<typeof QuietHours>;

const settingsShape = {
	frequency_caps: z.array(FrequencyCap).max(MAX_FREQUENCY_CAPS),
	quiet_hours: QuietHours,
	default_timezone: TimeZone,
	vendor_fallback_ms: z.number().int().min(0).max(600_000),
	inbox_cap: z.number().int().min(10).max(10_000),
	default_category: z
		.string()
		.regex(/^[A-Za-z0-9_.:@-]{1,64}$/, "must be 1–64 characters of [A-Za-z0-9_.:@-]")
		.openapi({ description: "Category of messages that name none (vendor classification; default marketing)." }),
	vendor_quotas: VendorQuotas,
};

export const AppSettings = z
	.strictObject({
		frequency_caps: settingsShape.frequency_caps.optional(),
		quiet_hours: settingsShape.quiet_hours.optional(),
		default_timezone: settingsShape.default_timezone.optional(),
		vendor_fallback_ms: settingsShape.vendor_fallback_ms.optional(),
		inbox_cap: settingsShape.inbox_cap.optional(),
		default_category: settingsShape.default_category.optional(),
		vendor_quotas: settingsShape.vendor_quotas.optional(),
	})
	.openapi("AppSettings");
export type AppSettings = z.infer<typeof AppSettings>;

export const DEFAULT_INBOX_CAP = 1000;
/** channels=auto: how long a connected device has to ack before vendors are tried. */
export const DEFAULT_VENDOR_FALLBACK_MS = 3000;
export const DEFAULT_TIMEZONE = "UTC";

/** An app's settings with every default filled in (quiet hours have none: absent means off). */
export type EffectiveSettings = Required<Omit<AppSettings, "quiet_hours" | "default_category" | "vendor_quotas">> &
	Pick<AppSettings, "quiet_hours" | "default_category" | "vendor_quotas">;

/** The settings deliveries follow: what the app stored (`apps.settings`; none for a missing app), defaults for the rest. */
export function loadSettings(stored: AppSettings | undefined): EffectiveSettings {
	return {
		...stored,
		frequency_caps: stored?.frequency_caps ?? [],
		default_timezone: stored?.default_timezone ?? DEFAULT_TIMEZONE,
		vendor_fallback_ms: stored?.vendor_fallback_ms ?? DEFAULT_VENDOR_FALLBACK_MS,
		inbox_cap: stored?.inbox_cap ?? DEFAULT_INBOX_CAP,
	};
}

export const AppSettingsPatch = z
	.strictObject({
		frequency_caps: settingsShape.frequency_caps.nullable().optional(),
		quiet_hours: settingsShape.quiet_hours.nullable().optional(),
		default_timezone: settingsShape.default_timezone.nullable().optional(),
		vendor_fallback_ms: settingsShape.vendor_fallback_ms.nullable().optional(),
		inbox_cap: settingsShape.inbox_cap.nullable().optional(),
		default_category: settingsShape.default_category.nullable().optional(),
		vendor_quotas: settingsShape.vendor_quotas.nullable().optional(),
	})
	.openapi("AppSettingsPatch", { description: "Fields to change; null removes a setting (back to its default)." });
export type AppSettingsPatch = z.infer<typeof AppSettingsPatch>;

/** `current` with `patch` applied: present fields replace, null fields are removed, absent fields stay. */
export function applySettingsPatch(current: AppSettings, patch: AppSettingsPatch): AppSettings {
	const out: Record<string, unknown> = { ...current };
	for (const [k, v] of Object.entries(patch)) {
		if (v === null) delete out[k];
		else if (v !== undefined) out[k] = v;
	}
	return out as AppSettings;
}

// ─── Quiet hours ─────────────────────────────────────────────────────────────────────────────────

/** True when the wall clock of `timeZone` at `instant` is inside [start, end) (wrapping midnight when start > end). */
export function inQuietHours(instant: Date, timeZone: string, quietHours: Pick<QuietHours, "start" | "end">): boolean {
	const start = parseTimeOfDay(quietHours.start);
	const end = parseTimeOfDay(quietHours.end);
	if (start === null || end === null || start === end) return false;
	const p = localParts(instant, timeZone);
	const m = p.hour * 60 + p.minute;
	return start < end ? m >= start && m < end : m >= start || m < end;
}

/**
 * When a message held at `instant` may go: the next instant (after `instant`) at which the local wall
 * clock reads `end`; `instant` itself when it is not in quiet hours.
 */
export function quietHoursEnd(instant: Date, timeZone: string, quietHours: Pick<QuietHours, "start" | "end">): Date {
	if (!inQuietHours(instant, timeZone, quietHours)) return new Date(instant.getTime());
	const end = parseTimeOfDay(quietHours.end)!;
	return nextLocalTimeOfDay(new Date(instant.getTime() + 1), timeZone, end);
}

export type QuietHoursDecision = { action: "send" } | { action: "hold"; until: Date } | { action: "drop" };

/**
 * The whole quiet-hours rule for one delivery: send unless quiet hours are set, the message respects
 * them (`respect_quiet_hours`, default true), it is not `transactional`, and the user's local time is
 * inside them; then hold until they end, or drop, as the settings say.
 */
export function quietHoursDecision(
	instant: Date,
	timeZone: string,
	quietHours: QuietHours | undefined,
	message: { category?: string | null; respect_quiet_hours?: boolean | null } = {},
): QuietHoursDecision {
	if (!quietHours || message.category === TRANSACTIONAL || message.respect_quiet_hours === false) return { action: "send" };
	if (!inQuietHours(instant, timeZone, quietHours)) return { action: "send" };
	return quietHours.action === "drop"
		? { action: "drop" }
		: { action: "hold", until: quietHoursEnd(instant, timeZone, quietHours) };
}

// ─── Frequency caps ──────────────────────────────────────────────────────────────────────────────

/** One earlier send to this user: epoch ms, or `{at, category}` (a bare number has no category). */
export type SendRecord = number | { at: number; category?: string | null };

const recordAt = (r: SendRecord) => (typeof r === "number" ? r : r.at);
const recordCategory = (r: SendRecord) => (typeof r === "number" ? undefined : (r.category ?? undefined));

/**
 * Would one more send of `category` exceed a cap? `sentTimestamps`: this user's earlier sends (epoch
 * ms, or `{at, category}` to make per-category caps countable). A send counts toward a cap's window
 * when now − window < at ≤ now; transactional sends never count, and a transactional message is
 * never capped. Returns the first cap (in list order) that is full.
 */
export function capExceeded(
	sentTimestamps: readonly SendRecord[],
	caps: readonly FrequencyCap[] | undefined,
	category: string | null | undefined,
	now: Date | number,
): { exceeded: boolean; cap?: FrequencyCap } {
	if (!caps || caps.length === 0 || category === TRANSACTIONAL) return { exceeded: false };
	const nowMs = typeof now === "number" ? now : now.getTime();
	for (const cap of caps) {
		if (cap.category !== undefined && cap.category !== category) continue;
		const from = nowMs - CAP_WINDOW_MS[cap.per];
		let count = 0;
		for (const r of sentTimestamps) {
			const at = recordAt(r);
			const c = recordCategory(r);
			if (c === TRANSACTIONAL || !(at > from && at <= nowMs)) continue;
			if (cap.category !== undefined && c !== cap.category) continue;
			count++;
		}
		if (count >= cap.max) return { exceeded: true, cap };
	}
	return { exceeded: false };
}

/** The records that can still count toward a cap (younger than a week), for the DO to keep. */
export function pruneSendLog<T extends SendRecord>(records: readonly T[], now: Date | number): T[] {
	const nowMs = typeof now === "number" ? now : now.getTime();
	return records.filter((r) => recordAt(r) > nowMs - LONGEST_CAP_WINDOW_MS);
}
