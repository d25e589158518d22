import type { UsageDayCounts } from "../../protocol/usage.js";
import { countOf } from "../db/app-limits.js";
import { db } from "../db/client.js";
import { meterFor } from "../objects/meter.js";
import { type AppPlan, MONTHLY_LIMITS, TOTAL_LIMITS } from "../plans/limits.js";
import { webhookDeliveriesByDay } from "../webhooks/usage.js";
import { activityOf } from "./activity.js";
import { estimateCost, pricesFrom } from "./cost.js";
import { rollupDays, totalDeliveries } from "./external.js";
import { daysOf, monthOf } from "./period.js";

export const MAU_DEFINITION =
	"Users with at least one WebSocket connection (hello) in the UTC month, counted once each; users only targeted by pushes do not count.";

/**
 * `GET /v1/usage?month=`: per UTC day, from where each number is counted — the app's meter (API
 * requests, messages accepted), the statistics rollups (deliveries by channel, opens, clicks: of the
 * messages accepted that day), the shards (monthly active users, peak connections) and the webhook
 * usage rows (attempts). Days of the month up to today; a past month has all its days.
 */
export async function usageOf(env: Env & { USAGE_PRICES?: string }, appId: string, month: string, plan: AppPlan | undefined) {
	const [meterDays, rollups, activity, webhooks, objects] = await Promise.all([
		meterFor(env, appId).days(month),
		rollupDays(env, appId, month),
		activityOf(env, appId, month),
		webhookDeliveriesByDay(env, appId, month),
		Promise.all(TOTAL_LIMITS.map(async (what) => [what, await countOf(db(env), appId, what)] as const)),
	]);
	const meter = new Map(meterDays.map((d) => [d.date, d]));
	const today = new Date().toISOString().slice(0, 10);
	const days = daysOf(month)
		.filter((date) => month < monthOf(Date.now()) || date <= today)
		.map((date) => {
			const r = rollups.get(date);
			const counts: UsageDayCounts = {
				api_requests: meter.get(date)?.api_requests ?? 0,
				messages_accepted: meter.get(date)?.messages_accepted ?? 0,
				deliveries: { ...(r?.deliveries ?? {}) },
				opens: r?.opens ?? 0,
				clicks: r?.clicks ?? 0,
				peak_connections: activity.peaks.get(date) ?? 0,
				webhook_deliveries: webhooks[date] ?? 0,
			};
			return { date, ...counts };
		});
	const totals: UsageDayCounts & { mau: number } = {
		api_requests: 0,
		messages_accepted: 0,
		deliveries: {},
		opens: 0,
		clicks: 0,
		peak_connections: 0,
		webhook_deliveries: 0,
		mau: activity.mau,
	};
	for (const d of days) {
		totals.api_requests += d.api_requests;
		totals.messages_accepted += d.messages_accepted;
		for (const [k, v] of Object.entries(d.deliveries)) totals.deliveries[k] = (totals.deliveries[k] ?? 0) + v;
		totals.opens += d.opens;
		totals.clicks += d.clicks;
		totals.peak_connections = Math.max(totals.peak_connections, d.peak_connections);
		totals.webhook_deliveries += d.webhook_deliveries;
	}
	const used: Record<string, number> = {
		mau: activity.mau,
		messages_per_month: totals.messages_accepted,
		deliveries_per_month: totalDeliveries(rollups),
		...Object.fromEntries(objects),
	};
	const quotas = plan
		? Object.entries(plan.limits)
				.filter(([limit]) => limit in used)
				.map(([limit, max]) => ({
					limit,
					used: used[limit] ?? 0,
					max: max as number,
					period: ((MONTHLY_LIMITS as readonly string[]).includes(limit) ? "month" : "total") as "month" | "total",
				}))
		: [];
	return {
		month,
		days,
		totals,
		mau_definition: MAU_DEFINITION,
		estimated_cost: estimateCost(totals, pricesFrom(env.USAGE_PRICES)),
		plan: plan ? { id: plan.id, name: plan.name, limits: plan.limits } : null,
		quotas,
	};
}
