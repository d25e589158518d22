/**
 * Vendor quotas and allowed hours, per app per vendor (`settings.vendor_quotas`), for marketing
 * (operational) messages: the Chinese vendors cap how many of those a device may get a day (vivo: a
 * few a day, only 7:00–23:00 Beijing time; OPPO: public-channel quotas) and silently drop or
 * restrict apps that ignore it. Transactional (system) messages are never limited here.
 *
 *   {"vendor_quotas": {"vivo": {"marketing_per_device_per_day": 5,
 *     "allowed_hours": {"start": "07:00", "end": "23:00"}, "outside_hours": "hold"}}}
 *
 * - A day is the calendar day in the rule's `time_zone` (default Asia/Shanghai, the vendors' clock).
 * - Outside the allowed hours a push is held until they open (`hold`, the default; counted
 *   quota_exceeded instead when the message would expire first) or counted quota_exceeded at once
 *   (`count`). Held or not, the in-app copy waits in the user's inbox for their next connect.
 * Pure: the counters live in the app's VendorTokens object (`core/objects/vendor-quota-store.ts`).
 */
import { z } from "../zod.js";
import { localParts, nextLocalTimeOfDay, parseTimeOfDay, TimeOfDay, TimeZone } from "./time.js";

export const VENDOR_QUOTA_CHANNELS = ["oppo", "vivo", "honor", "meizu", "xiaomi", "hms", "apns", "fcm", "webpush"] as const;
export const DEFAULT_QUOTA_TIME_ZONE = "Asia/Shanghai";

export const VendorQuota = z
	.strictObject({
		marketing_per_device_per_day: z
			.number()
			.int()
			.min(0)
			.max(10_000)
			.optional()
			.openapi({ description: "Marketing pushes one device may get through this vendor per day; more count quota_exceeded." }),
		allowed_hours: z
			.strictObject({ start: TimeOfDay, end: TimeOfDay })
			.refine((h) => h.start !== h.end, { message: "start and end must differ", path: ["end"] })
			.optional()
			.openapi({ description: "[start, end) local time in time_zone when marketing pushes may go (vivo: 07:00–23:00)." }),
		outside_hours: z
			.enum(["hold", "count"])
			.optional()
			.openapi({ description: "hold (default): send when the hours open; count: count quota_exceeded at once." }),
		time_zone: TimeZone.optional().openapi({ description: "Default Asia/Shanghai." }),
	})
	.openapi("VendorQuota");
export type VendorQuota = z.infer<typeof VendorQuota>;

export const VendorQuotas = z
	.partialRecord(z.enum(VENDOR_QUOTA_CHANNELS), VendorQuota)
	.openapi("VendorQuotas", { description: "Per vendor channel: marketing quotas and allowed hours." });
export type VendorQuotas = z.infer<typeof VendorQuotas>;

export type WindowDecision = { action: "send" } | { action: "hold"; until: Date } | { action: "count" };

/** Whether a marketing push may go now under the rule's allowed hours. */
export function windowDecision(now: Date, rule: VendorQuota, expiresAt: number): WindowDecision {
	const hours = rule.allowed_hours;
	if (!hours) return { action: "send" };
	const zone = rule.time_zone ?? DEFAULT_QUOTA_TIME_ZONE;
	const start = parseTimeOfDay(hours.start) as number;
	const end = parseTimeOfDay(hours.end) as number;
	const p = localParts(now, zone);
	const m = p.hour * 60 + p.minute;
	const open = start < end ? m >= start && m < end : m >= start || m < end;
	if (open) return { action: "send" };
	if (rule.outside_hours === "count") return { action: "count" };
	const until = nextLocalTimeOfDay(new Date(now.getTime() + 1), zone, start);
	return until.getTime() >= expiresAt ? { action: "count" } : { action: "hold", until };
}

/** The quota day of an instant: `YYYY-MM-DD` in the rule's zone. */
export function quotaDay(now: Date, rule: VendorQuota): string {
	const p = localParts(now, rule.time_zone ?? DEFAULT_QUOTA_TIME_ZONE);
	return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}
