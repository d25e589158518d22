import { and, eq, inArray } from "drizzle-orm";
import { inboxFor } from "../../durable-objects/inbox/stub.js";
import type { JobResult } from "../../durable-objects/ledger/message-ledger.js";
import { ledgerFor } from "../../durable-objects/ledger/stub.js";
import { db } from "../db/client.js";
import { users } from "../db/schema.js";
import { mapBounded } from "./bounded.js";
import type { DeliverySpec } from "./message-record.js";

/** Parallel inbox calls per job: enough to hide RPC latency, few enough to stay a good neighbour. */
const CONCURRENCY = 50;
const ATTEMPTS = 3;

/**
 * Puts the message into each user's inbox. A user whose inbox could not be reached after a few
 * quick attempts comes back as "failed" with the reason; the caller decides whether to retry it.
 */
export async function deliverToInboxes(env: Env, spec: DeliverySpec, users: readonly string[]): Promise<JobResult[]> {
	const zones = spec.needsZones ? await userZones(env, spec.appId, users) : undefined;
	return mapBounded(users, CONCURRENCY, async (userId): Promise<JobResult> => {
		const policy = spec.policy ? { ...spec.policy, timeZone: zones?.get(userId) ?? spec.defaultTimeZone } : undefined;
		let lastError = "";
		for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
			try {
				const r = await inboxFor(env, spec.appId, userId).deliver({
					appId: spec.appId,
					userId,
					messageId: spec.messageId,
					content: spec.content,
					sentAt: spec.sentAt,
					expiresAt: spec.expiresAt,
					collapseKey: spec.collapseKey,
					cap: spec.cap,
					live: spec.channels !== "vendor",
					fallbackAfterMs: spec.fallbackAfterMs,
					policy,
				});
				return { userId, outcome: r.outcome };
			} catch (err) {
				lastError = err instanceof Error ? err.message : String(err);
			}
		}
		return { userId, outcome: "failed", reason: lastError.slice(0, 200) };
	});
}

/** Takes a recalled message back out of the given inboxes. */
export async function recallFromInboxes(env: Env, appId: string, messageId: string, users: readonly string[]) {
	await mapBounded(users, CONCURRENCY, (userId) => inboxFor(env, appId, userId).recall(appId, userId, messageId));
}

/**
 * Which of these inbox results need a vendor push now: everyone reached for channels=vendor|all;
 * for auto, those with no connected device (connected ones fall back from their inbox's alarm).
 * Decided from the inbox's current state, so a retried job pushes to whoever still needs it.
 */
export function usersForVendors(spec: DeliverySpec, results: readonly JobResult[]): string[] {
	if (spec.channels === "ws") return [];
	const wanted = spec.channels === "auto" ? ["queued"] : ["queued", "delivered"];
	return results.filter((r) => wanted.includes(r.outcome)).map((r) => r.userId);
}

/** Records a finished job in the ledger (once per key) and takes the message back if a recall raced it. */
export async function recordJob(env: Env, spec: DeliverySpec, jobKey: string, results: JobResult[], expectJobs?: number) {
	const { recalled } = await ledgerFor(env, spec.appId, spec.messageId).recordJob(jobKey, results, expectJobs);
	if (recalled) {
		const reached = results.filter((r) => r.outcome !== "failed").map((r) => r.userId);
		await recallFromInboxes(env, spec.appId, spec.messageId, reached);
	}
}

/** The recipients' own time zones (those without one get the app default). */
async function userZones(env: Env, appId: string, ids: readonly string[]) {
	const zones = new Map<string, string>();
	const d = db(env);
	for (let i = 0; i < ids.length; i += 90) {
		const rows = await d
			.select({ id: users.id, tz: users.timezone })
			.from(users)
			.where(and(eq(users.appId, appId), inArray(users.id, ids.slice(i, i + 90))))
			.all();
		for (const r of rows) if (r.tz) zones.set(r.id, r.tz);
	}
	return zones;
}
