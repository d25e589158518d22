import { and, eq, inArray, sql } from "drizzle-orm";
import { AppError } from "../errors.js";
import type { Db } from "./client.js";
import { automations, schedules, templates, webhookEndpoints } from "./schema.js";

/**
 * What one app may keep: enough for any real app, small enough that a runaway script cannot make
 * every send read thousands of automations or the cron sweep page through millions of schedules.
 * Schedules count while they can still fire (active or paused); done and canceled ones do not.
 */
export const APP_LIMITS = { automations: 1_000, templates: 1_000, schedules: 10_000 } as const;

/** How many objects of a kind the app keeps (schedules: those that can still fire). */
export async function countOf(d: Db, appId: string, what: keyof typeof APP_LIMITS | "webhook_endpoints"): Promise<number> {
	const n = sql<number>`count(*)`;
	const row =
		what === "automations"
			? await d.select({ n }).from(automations).where(eq(automations.appId, appId)).get()
			: what === "templates"
				? await d.select({ n }).from(templates).where(eq(templates.appId, appId)).get()
				: what === "webhook_endpoints"
					? await d.select({ n }).from(webhookEndpoints).where(eq(webhookEndpoints.appId, appId)).get()
					: await d
							.select({ n })
							.from(schedules)
							.where(and(eq(schedules.appId, appId), inArray(schedules.status, ["active", "paused"])))
							.get();
	return row?.n ?? 0;
}

/** 409 when one more would take the app past its limit of `what`; how many the app has. */
export async function assertRoomFor(d: Db, appId: string, what: keyof typeof APP_LIMITS): Promise<number> {
	const used = await countOf(d, appId, what);
	const max = APP_LIMITS[what];
	if (used >= max) {
		throw new AppError(
			"conflict",
			`This app has ${max.toLocaleString("en-US")} ${what}, the most it may keep; delete one first.`,
		);
	}
	return used;
}
