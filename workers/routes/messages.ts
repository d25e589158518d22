import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { db } from "../../core/db/client.js";
import { messages } from "../../core/db/schema.js";
import { recallFromInboxes } from "../../core/fanout/deliver.js";
import type { FanoutJob } from "../../core/fanout/jobs.js";
import type { LedgerSummary } from "../../core/ledger/types.js";
import { acceptMessage } from "../../core/messages/accept.js";
import { inboxFor } from "../../core/objects/inbox.js";
import { ledgerFor } from "../../core/objects/ledger.js";
import { mapBounded } from "../../core/util/bounded.js";
import type { Audience } from "../../protocol/message.js";
import { requireScope } from "../http/auth.js";
import type { Api } from "../http/context.js";
import { notFound } from "../http/errors.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";
import {
	Accepted,
	MessageIdParam,
	MessageView,
	RecipientParam,
	RecipientViewSchema,
	SendMessageBody,
} from "../schemas/messages.js";

const security = [{ appKey: [] }];
const tags = ["Messages"];

const sendMessage = createRoute({
	method: "post",
	path: "/v1/messages",
	tags,
	security,
	middleware: [requireScope("send")] as const,
	summary: "Send a message to users, tags or everyone",
	description:
		"A `users` audience (≤ 1,000) is written to every inbox before the answer; `tags` and `all` fan out through Queues. " +
		"`202` means the message is durable: it will reach every targeted inbox.",
	request: jsonBody(SendMessageBody),
	responses: {
		202: json(Accepted, "Accepted."),
		200: json(Accepted, "A repeat of an idempotency key with the same body: the first answer again."),
		409: json(z.any(), "The idempotency key was used with a different body."),
		...standardErrors,
	},
});

const getMessage = createRoute({
	method: "get",
	path: "/v1/messages/{id}",
	tags,
	security,
	middleware: [requireScope("read")] as const,
	summary: "A message with its status and exact counts",
	request: { params: MessageIdParam },
	responses: { 200: json(MessageView, "The message."), ...standardErrors },
});

const getRecipient = createRoute({
	method: "get",
	path: "/v1/messages/{id}/recipients/{userId}",
	tags,
	security,
	middleware: [requireScope("read")] as const,
	summary: "Where one recipient stands with a message",
	request: { params: RecipientParam },
	responses: { 200: json(RecipientViewSchema, "The recipient's status."), ...standardErrors },
});

const recallMessage = createRoute({
	method: "delete",
	path: "/v1/messages/{id}",
	tags,
	security,
	middleware: [requireScope("send")] as const,
	summary: "Recall: the message leaves every inbox; connected devices get a recall frame",
	request: { params: MessageIdParam },
	responses: {
		200: json(z.object({ id: z.string(), status: z.literal("recalled") }), "Recalled."),
		...standardErrors,
	},
});

export function messageRoutes(api: Api) {
	api.openapi(sendMessage, async (c) => {
		const accepted = await acceptMessage(c.env, c.get("caller").appId, c.req.valid("json"));
		const body = { id: accepted.id, status: "accepted" as const, created_at: accepted.createdAt };
		return accepted.replayed ? c.json(body, 200) : c.json(body, 202);
	});

	api.openapi(getMessage, async (c) => {
		const { id } = c.req.valid("param");
		const { appId } = c.get("caller");
		const row = await findMessage(c.env, appId, id);
		const audience = JSON.parse(row.audience) as Audience;
		const ledger = await ledgerFor(c.env, appId, id).summary();
		const summary = "users" in audience ? await directSummary(c.env, appId, id, audience.users, ledger) : ledger;
		return c.json(
			{
				id: row.id,
				status: summary.status,
				audience: JSON.parse(row.audience),
				content: JSON.parse(row.content),
				options: JSON.parse(row.options),
				created_at: row.createdAt,
				expires_at: row.expiresAt,
				counts: summary.counts,
			},
			200,
		);
	});

	api.openapi(getRecipient, async (c) => {
		const { id, userId } = c.req.valid("param");
		const { appId } = c.get("caller");
		await findMessage(c.env, appId, id);
		const live = await inboxFor(c.env, appId, userId).recipient(id);
		const ledger = ledgerFor(c.env, appId, id);
		const devices = await ledger.vendorOutcomes(userId);
		if (live) return c.json({ ...live, user_id: userId, devices }, 200);
		// Never reached the inbox: the ledger knows whether delivery failed.
		const recorded = await ledger.recipient(userId);
		if (!recorded) throw notFound("recipient of this message");
		return c.json({ user_id: userId, status: recorded.status, devices }, 200);
	});

	api.openapi(recallMessage, async (c) => {
		const { id } = c.req.valid("param");
		const { appId } = c.get("caller");
		const row = await findMessage(c.env, appId, id);
		const ledger = ledgerFor(c.env, appId, id);
		if (await ledger.recall()) {
			const audience = JSON.parse(row.audience) as Audience;
			if ("users" in audience) {
				// Every named user, delivered or not: a late delivery then finds the recall first.
				await recallFromInboxes(c.env, appId, id, audience.users);
			} else {
				await c.env.FANOUT.send({ kind: "recall_resolve", appId, messageId: id, after: "" } satisfies FanoutJob);
			}
		}
		return c.json({ id, status: "recalled" as const }, 200);
	});
}

/**
 * A direct message keeps no tallies: its counts come from the recipients' own inboxes (at most
 * 1,000), its status from how the fan-out went. The ledger still holds recall, failures and vendor
 * outcomes. Receipts live for 7 days past the message's TTL; after that the counts read 0.
 */
async function directSummary(
	env: Env,
	appId: string,
	id: string,
	users: string[],
	ledger: LedgerSummary,
): Promise<LedgerSummary> {
	const views = await mapBounded(users, 50, (u) => inboxFor(env, appId, u).recipient(id));
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

async function findMessage(env: Env, appId: string, id: string) {
	const row = await db(env)
		.select()
		.from(messages)
		.where(and(eq(messages.appId, appId), eq(messages.id, id)))
		.get();
	if (!row) throw notFound("message");
	return row;
}
