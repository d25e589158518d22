import { and, eq, isNull, lt } from "drizzle-orm";
import { db } from "../db/client.js";
import { messages } from "../db/schema.js";
import { ledgerFor } from "../objects/ledger.js";

/**
 * The minute cron's safety net for broadcasts: each accepted broadcast whose fan-out has not ended
 * 30 s after it was accepted gets its ledger's watchdog run now (the ledger's alarm is the
 * precise path; this catches an alarm that was lost with the machine that held it).
 */
export async function sweepStalledBroadcasts(env: Env, now = Date.now()): Promise<number> {
	const stalled = await db(env)
		.select({ appId: messages.appId, id: messages.id })
		.from(messages)
		.where(
			and(
				eq(messages.isDirect, false),
				isNull(messages.fanoutDoneAt),
				lt(messages.createdAt, new Date(now - 30_000).toISOString()),
			),
		)
		.limit(100)
		.all();
	let redriven = 0;
	for (const m of stalled) if (await ledgerFor(env, m.appId, m.id).sweep()) redriven++;
	return redriven;
}
