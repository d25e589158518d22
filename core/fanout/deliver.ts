import { and, eq, inArray } from "drizzle-orm";
import type { MessageContent } from "../../protocol/message.js";
import { db } from "../db/client.js";
import { users } from "../db/schema.js";
import type { JobResult } from "../ledger/types.js";
import type { DeliverySpec } from "../messages/record.js";
import { Content } from "../messages/schema.js";
import { inboxFor } from "../objects/inbox.js";
import { ledgerFor } from "../objects/ledger.js";
import { renderTemplate } from "../rules/templates.js";
import { mapBounded } from "../util/bounded.js";
import { errorText } from "../util/errors.js";

/** Parallel inbox calls per job: enough to hide RPC latency, few enough to stay a good neighbour. */
const CONCURRENCY = 50;
const ATTEMPTS = 3;

/**
 * Puts the message into each user's inbox. A user whose inbox could not be reached after a few
 * quick attempts comes back as "failed" with the reason; the caller decides whether to retry it.
 */
export async function deliverToInboxes(env: Env, spec: DeliverySpec, users: readonly string[]): Promise<JobResult[]> {
	const profiles = spec.needsZones || spec.template ? await userProfiles(env, spec.appId, users) : undefined;
	return mapBounded(users, CONCURRENCY, async (userId): Promise<JobResult> => {
		const profile = profiles?.get(userId);
		const policy = spec.policy ? { ...spec.policy, timeZone: profile?.timezone ?? spec.defaultTimeZone } : undefined;
		const content = spec.template ? renderFor(spec, userId, profile) : spec.content;
		let lastError = "";
		for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
			try {
				const r = await inboxFor(env, spec.appId, userId).deliver({
					appId: spec.appId,
					userId,
					messageId: spec.messageId,
					content,
					sentAt: spec.sentAt,
					expiresAt: spec.expiresAt,
					collapseKey: spec.collapseKey,
					cap: spec.cap,
					live: spec.channels !== "vendor",
					fallbackAfterMs: spec.fallbackAfterMs,
					policy,
					tally: spec.tally,
				});
				return { userId, outcome: r.outcome };
			} catch (err) {
				lastError = errorText(err);
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
