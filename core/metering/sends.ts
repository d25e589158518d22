import { eq } from "drizzle-orm";
import type { CallerApp } from "../auth/caller.js";
import type { Db } from "../db/client.js";
import { apps, plans } from "../db/schema.js";
import { AppError } from "../errors.js";
import { meterFor } from "../objects/meter.js";
import type { PlanLimits } from "../plans/limits.js";
import { quotaPolicy } from "./buckets.js";
import { monthSeconds } from "./period.js";
import type { AdmitInput, AdmitResult } from "./types.js";

/** The app as a send needs it when no key read it (schedules, automations): settings, shards, plan. */
export async function appForSend(d: Db, appId: string): Promise<CallerApp | undefined> {
	const row = await d
		.select({
			settings: apps.settings,
			shardCount: apps.shardCount,
			planId: plans.id,
			planName: plans.name,
			limits: plans.limits,
		})
		.from(apps)
		.leftJoin(plans, eq(plans.id, apps.planId))
		.where(eq(apps.id, appId))
		.get();
	if (!row) return undefined;
	const plan = row.planId ? { id: row.planId, name: row.planName ?? row.planId, limits: row.limits ?? {} } : undefined;
	return { settings: row.settings, shardCount: row.shardCount, plan };
}

/** The monthly quotas a send is checked against. */
export function sendQuotas(limits: PlanLimits | undefined, messages = 1): NonNullable<AdmitInput["send"]> {
	return {
		messages,
		messagesMax: limits?.messages_per_month,
		deliveriesMax: limits?.deliveries_per_month,
		mauMax: limits?.mau,
	};
}

/** The contract's answer to a send over a monthly quota: 429 naming the limit, Retry-After to the month's end. */
export function quotaExceeded(r: Extract<AdmitResult, { reason: "quota_exceeded" }>): AppError {
	return new AppError(
		"quota_exceeded",
		`This app's plan allows ${r.max.toLocaleString("en-US")} ${r.limit.replaceAll("_", " ")}; this month's quota is used up.`,
		[{ path: `limits.${r.limit}`, message: `${r.used} of ${r.max} used this month` }],
		r.retryAfter,
		[quotaPolicy(r.limit, r.used, r.max, r.retryAfter, monthSeconds(Date.now())), ...r.policies],
	);
}

/**
 * Counts a send that no API request counted (a schedule firing, an automation) on the app's meter,
 * refused with 429 `quota_exceeded` over a monthly quota. Returns the refund for a send that is then
 * not accepted after all.
 */
export async function reserveSend(env: Env, appId: string, limits: PlanLimits | undefined): Promise<() => Promise<void>> {
	const meter = meterFor(env, appId);
	const now = Date.now();
	const r = await meter.admit({ appId, now, request: false, send: sendQuotas(limits) });
	if (!r.ok && r.reason === "quota_exceeded") throw quotaExceeded(r);
	return () => meter.refund(now, 1);
}
