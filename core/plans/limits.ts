/**
 * What a plan may limit (docs/api.md: Plans and quotas). Every limit is optional: one left out (or
 * an app on no plan) is held only by the hard safety limits (core/db/app-limits.ts,
 * protocol/limits.ts). A plan can only tighten those, never loosen them.
 *
 * Three kinds, told apart because they fail differently:
 * - rates (`api_requests_per_second_*`): token buckets, 429 `rate_limited`;
 * - monthly quotas (`mau`, `messages_per_month`, `deliveries_per_month`): counted per UTC month,
 *   `quota.warning` at 80 %, then sends answer 429 `quota_exceeded` until the month ends;
 * - totals (`schedules`, `automations`, `templates`, `webhook_endpoints`): the next object is
 *   refused with 429 `quota_exceeded`; per user or per message (`connections_per_user`,
 *   `devices_per_user`, `content_bytes`): refused like the hard limits they tighten.
 */
import { z } from "../zod.js";

const Max = (description: string) => z.number().int().min(1).max(1_000_000_000_000).optional().openapi({ description });

export const PlanLimits = z
	.strictObject({
		mau: Max("Monthly active users: users with at least one WebSocket connect (hello) in the UTC month."),
		messages_per_month: Max("Messages accepted per UTC month (API, schedules, automations)."),
		deliveries_per_month: Max("Deliveries per UTC month, every channel (WebSocket and vendors)."),
		api_requests_per_second_per_key: Max("Token bucket per API key: this many requests per second, bursts up to it."),
		api_requests_per_second_per_app: Max("Token bucket per app (all its keys together)."),
		connections_per_user: Max("Open WebSocket connections per user at once."),
		devices_per_user: Max("Devices per user (at most the hard limit of 32)."),
		schedules: Max("Schedules that can still fire (active or paused)."),
		automations: Max("Automations."),
		templates: Max("Templates."),
		webhook_endpoints: Max("Webhook endpoints."),
		content_bytes: Max("Serialized message content, bytes (at most the hard limit of 64 KiB)."),
	})
	.openapi("PlanLimits", {
		example: { messages_per_month: 100_000, api_requests_per_second_per_key: 10, automations: 20 },
	});
export type PlanLimits = z.infer<typeof PlanLimits>;
export type LimitName = keyof PlanLimits;

/** Monthly quotas: counted per UTC month. */
export const MONTHLY_LIMITS = ["mau", "messages_per_month", "deliveries_per_month"] as const satisfies LimitName[];
export type MonthlyLimit = (typeof MONTHLY_LIMITS)[number];
/** Objects an app keeps: the next one is refused at the limit. */
export const TOTAL_LIMITS = ["schedules", "automations", "templates", "webhook_endpoints"] as const satisfies LimitName[];
export type TotalLimit = (typeof TOTAL_LIMITS)[number];

/** The plan an app is on, as requests see it (read with the app key). */
export interface AppPlan {
	id: string;
	name: string;
	limits: PlanLimits;
}

/** The share of a quota at which `quota.warning` fires (once per limit per period). */
export const WARNING_SHARE = 0.8;
