import { and, eq, inArray } from "drizzle-orm";
import type { MessageContent } from "../../protocol/message.js";
import { db } from "../db/client.js";
import { users } from "../db/schema.js";
import type { JobResult } from "../ledger/types.js";
import type { DeliverySpec } from "../messages/record.js";
import { Content } from "../messages/schema.js";
import { ledgerFor } from "../objects/ledger.js";
import { allShards, usersByShard } from "../objects/shard.js";
import { renderTemplate } from "../rules/templates.js";
import type { ShardTarget } from "../shard/api.js";
import { mapBounded } from "../util/bounded.js";
import { errorText } from "../util/errors.js";
import { emitJobResults } from "../webhooks/recipient-events.js";

/** Parallel shard calls per job: enough to hide RPC latency, few enough to stay a good neighbour. */
const CONCURRENCY = 16;
const ATTEMPTS = 3;

/**
 * Puts the message into each user's inbox: one call per shard with every recipient it holds (the
 * shard writes it once for all of them). Users whose shard could not be reached after a few quick
 * attempts come back as "failed" with the reason; the caller decides whether to retry them.
 * `part` numbers this call's users within the message (0 for the direct path), for idempotency.
 */
export async function deliverToShards(
	env: Env,
	spec: DeliverySpec,
	users: readonly string[],
	part: number,
): Promise<JobResult[]> {
	const profiles = spec.needsZones || spec.template ? await userProfiles(env, spec.appId, users) : undefined;
	const groups = await usersByShard(env, spec.appId, users, spec.shardCount);
	const perShard = await mapBounded(groups, CONCURRENCY, async (g): Promise<JobResult[]> => {
		const targets: ShardTarget[] = g.users.map((userId) => {
			const profile = profiles?.get(userId);
			const t: ShardTarget = { userId };
			if (profile?.timezone) t.timeZone = profile.timezone;
			if (spec.template) t.content = renderFor(spec, userId, profile);
			return t;
		});
		let lastError = "";
		for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
			try {
				const results = await g.stub.deliver({
					appId: spec.appId,
					shard: g.name,
					messageId: spec.messageId,
					part,
					content: spec.content,
					sentAt: spec.sentAt,
					expiresAt: spec.expiresAt,
					collapseKey: spec.collapseKey,
					category: spec.category,
					cap: spec.cap,
					live: spec.channels !== "vendor",
					channels: spec.channels,
					fallbackAfterMs: spec.fallbackAfterMs,
					policy: spec.policy,
					defaultTimeZone: spec.defaultTimeZone,
					tally: spec.tally,
					targets,
				});
				return results.map((r) =>
					r.duplicate ? { userId: r.userId, outcome: r.outcome, duplicate: true } : { userId: r.userId, outcome: r.outcome },
				);
			} catch (err) {
				lastError = errorText(err);
			}
		}
		return g.users.map((userId) => ({ userId, outcome: "failed" as const, reason: lastError.slice(0, 200) }));
	});
	return perShard.flat();
}

/** Takes a recalled message back out of the inboxes of the given users, or of every user of the app. */
export async function recallFromShards(env: Env, appId: string, messageId: string, users?: readonly string[]) {
	const shards = users ? await usersByShard(env, appId, users) : await allShards(env, appId);
	await mapBounded(shards, CONCURRENCY, (s) => s.stub.recall({ appId, shard: s.name }, messageId));
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
	// One webhook per job for whoever subscribed to recipient events (a retried job may repeat it: at least once).
	await emitJobResults(env, spec.appId, spec.messageId, results);
	if (recalled) {
		const reached = results.filter((r) => r.outcome !== "failed").map((r) => r.userId);
		await recallFromShards(env, spec.appId, spec.messageId, reached);
	}
}

export interface UserProfile {
	timezone: string | null;
	locale: string | null;
	attributes: Record<string, unknown>;
}

/** What per-recipient delivery needs to know about each user: zone, locale, attributes. */
export async function userProfiles(env: Env, appId: string, ids: readonly string[]) {
	const profiles = new Map<string, UserProfile>();
	const d = db(env);
	for (let i = 0; i < ids.length; i += 90) {
		const rows = await d
			.select({ id: users.id, timezone: users.timezone, locale: users.locale, attributes: users.attributes })
			.from(users)
			.where(and(eq(users.appId, appId), inArray(users.id, ids.slice(i, i + 90))))
			.all();
		for (const r of rows) {
			profiles.set(r.id, {
				timezone: r.timezone,
				locale: r.locale,
				attributes: r.attributes,
			});
		}
	}
	return profiles;
}

/**
 * A template message for one recipient, in their locale with their attributes. A rendering that is
 * not valid content (e.g. a URL variable that is empty) falls back to the preview.
 */
export function renderFor(spec: Pick<DeliverySpec, "template" | "content">, userId: string, profile: UserProfile | undefined) {
	if (!spec.template) return spec.content;
	const rendered = renderTemplate(spec.template.definition, {
		user: { id: userId, attributes: profile?.attributes ?? {}, locale: profile?.locale ?? null },
		vars: spec.template.variables,
		event: spec.template.event ?? null,
	});
	const valid = Content.safeParse(rendered);
	return valid.success ? (valid.data as MessageContent) : spec.content;
}
