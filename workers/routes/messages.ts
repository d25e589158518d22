import { createRoute, z } from "@hono/zod-openapi";
import { acceptMessage } from "../../core/messages/accept.js";
import { funnelOf } from "../../core/messages/funnel.js";
import { listMessages } from "../../core/messages/log.js";
import { listRecipients } from "../../core/messages/recipients.js";
import { findMessage, messageSummary, recall, recipientOf } from "../../core/messages/view.js";
import type { Api } from "../http/context.js";
import { appKeyRoute } from "../http/route.js";
import { Cursor, decodeCursor, encodeCursor, json, jsonBody, pageLimit, standardErrors } from "../schemas/common.js";
import { MessageLogPage, MessageLogQuery } from "../schemas/message-log.js";
import {
	Accepted,
	MessageIdParam,
	MessageView,
	RecipientParam,
	RecipientViewSchema,
	SendMessageBody,
} from "../schemas/messages.js";

const TAG = "Messages";

const sendMessage = createRoute({
	...appKeyRoute(TAG, "post", "/v1/messages", "send"),
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

const listMessagesRoute = createRoute({
	...appKeyRoute(TAG, "get", "/v1/messages", "read"),
	summary:
		"The message log, newest first: filter by status, audience, template, schedule, automation, dates; search by id or idempotency key",
	request: { query: MessageLogQuery },
	responses: { 200: json(MessageLogPage, "A page."), ...standardErrors },
});

const getMessage = createRoute({
	...appKeyRoute(TAG, "get", "/v1/messages/{id}", "read"),
	summary: "A message with its status and exact counts",
	request: { params: MessageIdParam },
	responses: { 200: json(MessageView, "The message."), ...standardErrors },
});

const listRecipientsRoute = createRoute({
	...appKeyRoute(TAG, "get", "/v1/messages/{id}/recipients", "read"),
	summary: "A message's recipients, paged, each with its status and vendor outcomes",
	request: { params: MessageIdParam, query: z.strictObject({ cursor: Cursor, limit: pageLimit(50, 200).optional() }) },
	responses: {
		200: json(z.object({ recipients: z.array(RecipientViewSchema), next_cursor: z.string().nullable() }), "A page."),
		...standardErrors,
	},
});

const getRecipient = createRoute({
	...appKeyRoute(TAG, "get", "/v1/messages/{id}/recipients/{userId}", "read"),
	summary: "Where one recipient stands with a message",
	request: { params: RecipientParam },
	responses: { 200: json(RecipientViewSchema, "The recipient's status."), ...standardErrors },
});

const recallMessage = createRoute({
	...appKeyRoute(TAG, "delete", "/v1/messages/{id}", "send"),
	summary: "Recall: the message leaves every inbox; connected devices get a recall frame",
	request: { params: MessageIdParam },
	responses: {
		200: json(z.object({ id: z.string(), status: z.literal("recalled") }), "Recalled."),
		...standardErrors,
	},
});

export function messageRoutes(api: Api) {
	api.openapi(sendMessage, async (c) => {
		const caller = c.get("caller");
		const accepted = await acceptMessage(c.env, caller.appId, c.req.valid("json"), {
			background: (work) => c.executionCtx.waitUntil(work),
			app: caller.app,
		});
		const body = { id: accepted.id, status: "accepted" as const, created_at: accepted.createdAt };
		return accepted.replayed ? c.json(body, 200) : c.json(body, 202);
	});

	api.openapi(listMessagesRoute, async (c) => {
		const q = c.req.valid("query");
		const page = await listMessages(c.env, c.get("caller").appId, {
			status: q.status,
			audience: q.audience,
			templateId: q.template_id,
			scheduleId: q.schedule_id,
			automationId: q.automation_id,
			from: q.from ? new Date(q.from) : undefined,
			to: q.to ? new Date(q.to) : undefined,
			q: q.q,
			userId: q.user_id,
			tag: q.tag,
			after: decodeCursor(q.cursor),
			limit: q.limit ?? 50,
		});
		return c.json({ messages: page.messages, next_cursor: page.last ? encodeCursor(page.last) : null }, 200);
	});

	api.openapi(getMessage, async (c) => {
		const { appId } = c.get("caller");
		const row = await findMessage(c.env, appId, c.req.valid("param").id);
		const summary = await messageSummary(c.env, row);
		return c.json(
			{
				id: row.id,
				status: summary.status,
				audience: row.audience,
				content: row.content,
				options: row.options,
				created_at: row.createdAt,
				expires_at: row.expiresAt,
				counts: summary.counts,
				funnel: funnelOf(summary),
			},
			200,
		);
	});

	api.openapi(listRecipientsRoute, async (c) => {
		const row = await findMessage(c.env, c.get("caller").appId, c.req.valid("param").id);
		const q = c.req.valid("query");
		const page = await listRecipients(c.env, row, decodeCursor(q.cursor), q.limit ?? 50);
		return c.json({ recipients: page.recipients, next_cursor: page.next ? encodeCursor(page.next) : null }, 200);
	});

	api.openapi(getRecipient, async (c) => {
		const { id, userId } = c.req.valid("param");
		const { appId } = c.get("caller");
		await findMessage(c.env, appId, id);
		return c.json(await recipientOf(c.env, appId, id, userId), 200);
	});

	api.openapi(recallMessage, async (c) => {
		const { appId } = c.get("caller");
		const row = await findMessage(c.env, appId, c.req.valid("param").id);
		await recall(c.env, row);
		return c.json({ id: row.id, status: "recalled" as const }, 200);
	});
}
