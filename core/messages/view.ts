import { and, eq, isNull } from "drizzle-orm";
import type { RecipientView } from "../../protocol/message.js";
import { db } from "../db/client.js";
import { messages } from "../db/schema.js";
import { notFound } from "../errors.js";
import { recallFromShards } from "../fanout/deliver.js";
import type { FanoutJob } from "../fanout/jobs.js";
import type { LedgerSummary } from "../ledger/types.js";
import { ledgerFor } from "../objects/ledger.js";
import { inboxFor, usersByShard } from "../objects/shard.js";
import { mapBounded } from "../util/bounded.js";
import { emitWebhookEvent } from "../webhooks/emit.js";

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
 * A direct message keeps no tallies: its counts come from the shards of its recipients (one call per
 * shard), its status from how the fan-out went. The ledger still holds recall, failures and vendor
 * outcomes. Receipts live for 7 days past the message's TTL; after that the counts read 0.
 */
async function directSummary(env: Env, row: MessageRow, users: string[], ledger: LedgerSummary): Promise<LedgerSummary> {
	const shards = await usersByShard(env, row.appId, users);
	const perShard = await mapBounded(shards, 16, (s) => s.stub.counts({ appId: row.appId, shard: s.name }, row.id));
	const counts = { ...ledger.counts, targeted: users.length };
	for (const f of ["delivered", "acked", "opened", "clicked", "expired", "capped", "dropped"] as const) {
		counts[f] = perShard.reduce((n, c) => n + c[f], 0);
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
	const first = await ledgerFor(env, row.appId, row.id).recall();
	// Also on a repeat: a first recall whose D1 write failed is finished by its retry.
	await db(env)
		.update(messages)
		.set({ recalledAt: new Date().toISOString() })
		.where(and(eq(messages.appId, row.appId), eq(messages.id, row.id), isNull(messages.recalledAt)));
	if (!first) return;
	await emitWebhookEvent(env, row.appId, "message.recalled", { id: row.id });
	if ("users" in row.audience) {
		// Every named user, delivered or not: a late delivery then finds the recall first.
		await recallFromShards(env, row.appId, row.id, row.audience.users);
	} else {
		// Every shard of the app: those the fan-out has not reached yet keep the recall for when it does.
		await env.FANOUT.send({ kind: "recall", appId: row.appId, messageId: row.id } satisfies FanoutJob);
	}
}
