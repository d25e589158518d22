import { and, eq, inArray, lt } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { eventIds } from "../db/schema.js";

/** How long a client event id is remembered: a retry within it changes nothing. */
export const EVENT_ID_WINDOW_MS = 24 * 3600 * 1000;
/** Ids per statement: 3 bound parameters each, under D1's 100. */
const PER_STATEMENT = 30;

/**
 * Records the client ids of a batch of events and answers the ones seen for the first time in the
 * window (an id repeated inside the batch counts once). Ids older than the window are free again.
 */
export async function claimEventIds(d: Db, appId: string, ids: string[], now: number): Promise<Set<string>> {
	const unique = [...new Set(ids)];
	const fresh = new Set<string>();
	for (let i = 0; i < unique.length; i += PER_STATEMENT) {
		const some = unique.slice(i, i + PER_STATEMENT);
		// An expired record of the same id gives way first, so the id counts as new again.
		await d
			.delete(eventIds)
			.where(and(eq(eventIds.appId, appId), inArray(eventIds.id, some), lt(eventIds.seenAt, now - EVENT_ID_WINDOW_MS)));
		const inserted = await d
			.insert(eventIds)
			.values(some.map((id) => ({ appId, id, seenAt: now })))
			.onConflictDoNothing()
			.returning({ id: eventIds.id });
		for (const r of inserted) fresh.add(r.id);
	}
	return fresh;
}

/** The minute cron forgets ids past the window, a bounded number at a time. */
export async function sweepEventIds(d1: D1Database, now: number): Promise<void> {
	await d1
		.prepare("DELETE FROM event_ids WHERE (app_id, id) IN (SELECT app_id, id FROM event_ids WHERE seen_at < ? LIMIT 5000)")
		.bind(now - EVENT_ID_WINDOW_MS)
		.run();
}
