import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { inboxFor } from "../../durable-objects/inbox/stub.js";
import { ledgerFor } from "../../durable-objects/ledger/stub.js";
import type { Audience } from "../../protocol/message.js";
import { sha256, timeOrderedId, toHex } from "../auth/crypto.js";
import { db } from "../db/client.js";
import { apps, messages } from "../db/schema.js";
import { checkVendorPayloads } from "../dispatch/payload-limits.js";
import { dispatchToVendors } from "../dispatch/targets.js";
import { canonicalJson } from "../fanout/canonical.js";
import { deliverToInboxes, recallFromInboxes, recordJob, usersForVendors } from "../fanout/deliver.js";
import type { DeliverJob, FanoutJob } from "../fanout/jobs.js";
import { type DeliverySpec, deliverySpec } from "../fanout/message-record.js";
import { requireScope } from "../http/auth.js";
import type { Api } from "../http/context.js";
import { AppError, notFound } from "../http/errors.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";
import {
	Accepted,
	DEFAULT_TTL_SECONDS,
	MAX_CONTENT_BYTES,
	MessageIdParam,
	MessageView,
	RecipientParam,
	RecipientViewSchema,
	SendMessageBody,
} from "../schemas/messages.js";

const security = [{ appKey: [] }];
const tags = ["Messages"];
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

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
		const body = c.req.valid("json");
		const { appId } = c.get("caller");
		const contentJson = JSON.stringify(body.content);
		const contentBytes = new TextEncoder().encode(contentJson).byteLength;
		if (contentBytes > MAX_CONTENT_BYTES) {
			throw new AppError("payload_too_large", "content is over 64 KiB when serialized.", [
				{ path: "content", message: `${contentBytes} bytes; the limit is ${MAX_CONTENT_BYTES}` },
			]);
		}
		const options = body.options ?? {};
		const audience: Audience =
			"users" in body.audience ? { users: [...new Set(body.audience.users)] } : (body.audience as Audience);
		const bodyHash = toHex(await sha256(canonicalJson(body)));
		const d = db(c.env);

		const key = options.idempotency_key;
		if (key) {
			const prior = await findByIdempotencyKey(d, appId, key);
			if (prior && Date.parse(prior.createdAt) > Date.now() - IDEMPOTENCY_WINDOW_MS) {
				if (prior.bodyHash !== bodyHash) throw conflict();
				return c.json({ id: prior.id, status: "accepted" as const, created_at: prior.createdAt }, 200);
			}
			if (prior) {
				// Past its 24 hours the key is free again; the old message keeps its id.
				await d
					.update(messages)
					.set({ idempotencyKey: null })
					.where(and(eq(messages.appId, appId), eq(messages.id, prior.id)));
			}
		}

		const app = await d.select({ settings: apps.settings }).from(apps).where(eq(apps.id, appId)).get();
		if (!app) throw new AppError("unauthorized", "The app of this key no longer exists.");
		// Every vendor this message may go through must be able to carry it: 413 naming the channel.
		if ((options.channels ?? "auto") !== "ws") await checkVendorPayloads(c.env, appId, body.content, options);
		const now = Date.now();
		const id = timeOrderedId("msg", now);
		const createdAt = new Date(now).toISOString();
		const expiresAt = now + (options.ttl_seconds ?? DEFAULT_TTL_SECONDS) * 1000;
		try {
			await d.insert(messages).values({
				appId,
				id,
				audience: JSON.stringify(audience),
				content: contentJson,
				options: JSON.stringify(options),
				idempotencyKey: key ?? null,
				bodyHash,
				createdAt,
				expiresAt: new Date(expiresAt).toISOString(),
			});
		} catch (err) {
			// Two requests raced with one idempotency key: the unique index let one through.
			const winner = key ? await findByIdempotencyKey(d, appId, key) : undefined;
			if (!winner) throw err;
			if (winner.bodyHash !== bodyHash) throw conflict();
			return c.json({ id: winner.id, status: "accepted" as const, created_at: winner.createdAt }, 200);
		}

		const spec = deliverySpec(appId, id, body.content, options, { sentAt: createdAt, expiresAt, settingsJson: app.settings });
		if ("users" in audience) {
			await deliverDirect(c.env, spec, audience.users);
		} else {
			try {
				await c.env.FANOUT.send({
					kind: "resolve",
					appId,
					messageId: id,
					audience,
					after: null,
					jobsSoFar: 0,
				} satisfies FanoutJob);
			} catch (err) {
				// Not queued means not accepted: take the row back so the caller can simply retry.
				await d.delete(messages).where(and(eq(messages.appId, appId), eq(messages.id, id)));
				throw err;
			}
		}
		return c.json({ id, status: "accepted" as const, created_at: createdAt }, 202);
	});

	api.openapi(getMessage, async (c) => {
		const { id } = c.req.valid("param");
		const { appId } = c.get("caller");
		const row = await findMessage(c.env, appId, id);
		const summary = await ledgerFor(c.env, appId, id).summary();
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
 * A `users` audience goes straight to the inboxes, so direct pushes never wait on queue batching.
 * Inboxes that stay unreachable are handed to the queue, whose retries and dead-letter queue own
 * them from there.
 */
async function deliverDirect(env: Env, spec: DeliverySpec, users: string[]) {
	const results = await deliverToInboxes(env, spec, users);
	const failed = results.filter((r) => r.outcome === "failed").map((r) => r.userId);
	const reached = results.filter((r) => r.outcome !== "failed");
	await dispatchToVendors(env, spec.appId, spec.messageId, usersForVendors(spec, reached));
	if (failed.length) {
		const jobs: DeliverJob[] = [];
		for (let i = 0; i < failed.length; i += 100) {
			const part = failed.slice(i, i + 100);
			jobs.push({ kind: "deliver", appId: spec.appId, messageId: spec.messageId, jobKey: `retry:${part[0]}`, users: part });
		}
		await env.FANOUT.sendBatch(jobs.map((body) => ({ body })));
		await recordJob(env, spec, "direct", reached, 1 + jobs.length);
	} else {
		await recordJob(env, spec, "direct", reached, 1);
	}
}

function conflict() {
	return new AppError("conflict", "This idempotency key was used with a different body in the last 24 hours.", [
		{ path: "options.idempotency_key", message: "reused with a different body" },
	]);
}

function findByIdempotencyKey(d: ReturnType<typeof db>, appId: string, key: string) {
	return d
		.select({ id: messages.id, bodyHash: messages.bodyHash, createdAt: messages.createdAt })
		.from(messages)
		.where(and(eq(messages.appId, appId), eq(messages.idempotencyKey, key)))
		.get();
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
