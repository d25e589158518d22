import { and, eq, like, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { db } from "../db/client.js";
import { webhookUsage } from "../db/schema.js";

/** The D1 statement that counts one webhook HTTP attempt (batched with the delivery's own update). */
export function countAttempt(d: Db, appId: string, at: number) {
	const day = new Date(at).toISOString().slice(0, 10);
	return d
		.insert(webhookUsage)
		.values({ appId, day, attempts: 1 })
		.onConflictDoUpdate({ target: [webhookUsage.appId, webhookUsage.day], set: { attempts: sql`${webhookUsage.attempts} + 1` } });
}

/** Webhook HTTP attempts (first tries, retries and replays) per UTC day of `month` (YYYY-MM). */
export async function webhookDeliveriesByDay(env: Env, appId: string, month: string): Promise<Record<string, number>> {
	const rows = await db(env)
		.select({ day: webhookUsage.day, attempts: webhookUsage.attempts })
		.from(webhookUsage)
		.where(and(eq(webhookUsage.appId, appId), like(webhookUsage.day, `${month}-%`)))
		.all();
	return Object.fromEntries(rows.map((r) => [r.day, r.attempts]));
}
