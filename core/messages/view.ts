import { and, eq } from "drizzle-orm";
import type { RecipientView } from "../../protocol/message.js";
import { db } from "../db/client.js";
import { messages } from "../db/schema.js";
import { notFound } from "../errors.js";
import { recallFromInboxes } from "../fanout/deliver.js";
import type { FanoutJob } from "../fanout/jobs.js";
import type { LedgerSummary } from "../ledger/types.js";
import { inboxFor } from "../objects/inbox.js";
import { ledgerFor } from "../objects/ledger.js";
import { mapBounded } from "../util/bounded.js";

export type MessageRow = typeof messages.$inferSelect;

/** One message of an app, or not_found. */
export async function findMessage(env: Env, appId: string, id: string): Promise<MessageRow> {
	const row = await db(env)
		.select()
		.from(messages)
		.where(and(eq(messages.appId, appId), eq(messages.id, id)))
		.get();
	if (!row) throw notFound("message");
	return row;
}

/** A message's status and exact counts. */
export async function messageSummary(env: Env, row: MessageRow): Promise<LedgerSummary> {
	const ledger = await ledgerFor(env, row.appId, row.id).summary();
	return "users" in row.audience ? directSummary(env, row, row.audience.users, ledger) : ledger;
}

/**
 * A direct message keeps no tallies: its counts come from the recipients' own inboxes (at most
 * 1,000), its status from how the fan-out went. The ledger still holds recall, failures and vendor
 * outcomes. Receipts live for 7 days past the message's TTL; after that the counts read 0.
 */
async function directSummary(env: Env, row: MessageRow, users: string[], ledger: LedgerSummary): Promise<LedgerSummary> {
	const views = await mapBounded(users, 50, (u) => inboxFor(env, row.appId, u).recipient(row.id));
	const counts = {
		...ledger.counts,
		targeted: users.length,
		delivered: 0,
		acked: 0,
		opened: 0,
		clicked: 0,
		expired: 0,
		capped: 0,
		dropped: 0,
	};
	for (const v of views) {
		if (!v) continue;
		if (v.delivered_at) counts.delivered++;
		if (v.acked_at) counts.acked++;
		if (v.opened_at) counts.opened++;
		if (v.clicked_at) counts.clicked++;
		if (v.status === "expired") counts.expired++;
		if (v.status === "capped") counts.capped++;
		if (v.status === "dropped") counts.dropped++;
	}
	// No ledger job means every inbox had it before the API answered.
	const status = ledger.status === "accepted" ? "done" : ledger.status;
	return { status, counts };
}

/** Where one recipient stands with a message: their inbox, else what the ledger recorded. */
export async function recipientOf(env: Env, appId: string, messageId: string, userId: string): Promise<RecipientView> {
	const live = await inboxFor(env, appId, userId).recipient(messageId);
	const ledger = ledgerFor(env, appId, messageId);
	const devices = await ledger.vendorOutcomes(userId);
	if (live) return { ...live, user_id: userId, devices };
	// Never reached the inbox: the ledger knows whether delivery failed.
	const recorded = await ledger.recipient(userId);
	if (!recorded) throw notFound("recipient of this message");
	return { user_id: userId, status: recorded.status, devices };
}

/** Recall: the message leaves every inbox that holds it; a repeat changes nothing. */
export async function recall(env: Env, row: MessageRow): Promise<void> {
	if (!(await ledgerFor(env, row.appId, row.id).recall())) return;
	if ("users" in row.audience) {
		// Every named user, delivered or not: a late delivery then finds the recall first.
		await recallFromInboxes(env, row.appId, row.id, row.audience.users);
	} else {
		await env.FANOUT.send({ kind: "recall_resolve", appId: row.appId, messageId: row.id, after: "" } satisfies FanoutJob);
	}
}
