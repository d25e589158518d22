import { and, desc, eq, isNotNull, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { MessageStatus } from "../../protocol/message.js";
import { timeIdPrefix } from "../auth/crypto.js";
import { db } from "../db/client.js";
import { messages } from "../db/schema.js";

/** Filters of the message log (`GET /v1/messages`); every one narrows, none is required. */
export interface MessageLogQuery {
	/** `accepted` and `fanning_out` both mean a broadcast whose fan-out has not ended. */
	status?: MessageStatus;
	audience?: "users" | "tags" | "all" | "filter";
	templateId?: string;
	scheduleId?: string;
	automationId?: string;
	from?: Date;
	to?: Date;
	/** A message id or an idempotency key, exactly. */
	q?: string;
	/** `users` messages that named this user. */
	userId?: string;
	/** Broadcasts whose tag rules name this tag (any, all or none). */
	tag?: string;
	/** The last id of the previous page (newest first). */
	after?: string;
	limit: number;
}

export interface MessageLogEntry {
	id: string;
	status: MessageStatus;
	audience_kind: "users" | "tags" | "all" | "filter";
	/** For `users` audiences: how many users were named. */
	users?: number;
	content: { type: string; title?: string; body?: string };
	category: string | null;
	template_id: string | null;
	source: { kind: "schedule" | "automation"; id: string } | null;
	idempotency_key: string | null;
	created_at: string;
}

type Row = typeof messages.$inferSelect;

/**
 * One page of an app's messages, newest first, from D1 alone: ids sort by time, so a date range is
 * a key range and paging is `id < last`. The status comes from the row (recalled_at, fanout_done_at);
 * a message's exact counts stay on `GET /v1/messages/{id}`.
 */
export async function listMessages(env: Env, appId: string, q: MessageLogQuery) {
	const where: (SQL | undefined)[] = [eq(messages.appId, appId)];
	if (q.after) where.push(lt(messages.id, q.after));
	if (q.from) where.push(sql`${messages.id} >= ${timeIdPrefix("msg", q.from.getTime())}`);
	if (q.to) where.push(sql`${messages.id} < ${timeIdPrefix("msg", q.to.getTime())}`);
	if (q.q) where.push(or(eq(messages.id, q.q), eq(messages.idempotencyKey, q.q)));
	if (q.userId) {
		where.push(
			eq(messages.isDirect, true),
			sql`EXISTS (SELECT 1 FROM json_each(${messages.audience}, '$.users') WHERE value = ${q.userId})`,
		);
	}
	if (q.tag) {
		where.push(sql`EXISTS (SELECT 1 FROM json_tree(${messages.audience}, '$.tags') WHERE type = 'text' AND value = ${q.tag})`);
	}
	if (q.templateId) where.push(sql`json_extract(${messages.template}, '$.id') = ${q.templateId}`);
	if (q.scheduleId) where.push(and(eq(messages.sourceKind, "schedule"), eq(messages.sourceId, q.scheduleId)));
	if (q.automationId) where.push(and(eq(messages.sourceKind, "automation"), eq(messages.sourceId, q.automationId)));
	if (q.audience === "users") where.push(eq(messages.isDirect, true));
	if (q.audience === "tags") where.push(sql`json_extract(${messages.audience}, '$.tags') IS NOT NULL`);
	if (q.audience === "all") where.push(sql`json_extract(${messages.audience}, '$.all') IS NOT NULL`);
	if (q.audience === "filter") {
		where.push(
			sql`json_extract(${messages.audience}, '$.filter') IS NOT NULL AND json_extract(${messages.audience}, '$.tags') IS NULL AND json_extract(${messages.audience}, '$.all') IS NULL`,
		);
	}
	if (q.status === "recalled") where.push(isNotNull(messages.recalledAt));
	if (q.status === "done") {
		where.push(isNull(messages.recalledAt), or(eq(messages.isDirect, true), isNotNull(messages.fanoutDoneAt)));
	}
	if (q.status === "accepted" || q.status === "fanning_out") {
		where.push(isNull(messages.recalledAt), eq(messages.isDirect, false), isNull(messages.fanoutDoneAt));
	}
	const rows = await db(env)
		.select()
		.from(messages)
		.where(and(...where))
		.orderBy(desc(messages.id))
		.limit(q.limit + 1)
		.all();
	const page = rows.slice(0, q.limit);
	return { messages: page.map(entryOf), last: rows.length > q.limit ? page.at(-1)?.id : undefined };
}

function entryOf(row: Row): MessageLogEntry {
	const a = row.audience;
	const kind = "users" in a ? "users" : "tags" in a ? "tags" : "all" in a ? "all" : "filter";
	const content: MessageLogEntry["content"] = { type: row.content.type };
	if (row.content.title !== undefined) content.title = row.content.title;
	if (row.content.body !== undefined) content.body = row.content.body;
	return {
		id: row.id,
		status: statusOf(row),
		audience_kind: kind,
		...("users" in a ? { users: a.users.length } : {}),
		content,
		category: row.options.category ?? null,
		template_id: row.template?.id ?? null,
		source: row.sourceKind && row.sourceId ? { kind: row.sourceKind, id: row.sourceId } : null,
		idempotency_key: row.idempotencyKey,
		created_at: row.createdAt,
	};
}

function statusOf(row: Row): MessageStatus {
	if (row.recalledAt) return "recalled";
	return row.isDirect || row.fanoutDoneAt ? "done" : "fanning_out";
}
