import { and, eq, sql } from "drizzle-orm";
import type { CallerApp } from "../auth/caller.js";
import { sha256, timeOrderedId, toHex } from "../auth/crypto.js";
import { db } from "../db/client.js";
import { preparedOnce } from "../db/prepared.js";
import { messages } from "../db/schema.js";
import { checkVendorPayloads } from "../dispatch/payload-limits.js";
import { dispatchToVendors } from "../dispatch/targets.js";
import { AppError } from "../errors.js";
import { deliverToShards, recordJob, usersForVendors } from "../fanout/deliver.js";
import { DELIVER_JOB_USERS, type DeliverJob, type FanoutJob, RETRY_PARTS } from "../fanout/jobs.js";
import { resolveInline } from "../fanout/resolve.js";
import {
	Content,
	DEFAULT_TTL_SECONDS,
	MAX_CONTENT_BYTES,
	type SendBody,
	type StoredAudience,
	type StoredContent,
	type StoredTemplate,
} from "../messages/schema.js";
import { appForSend, reserveSend } from "../metering/sends.js";
import { ledgerFor } from "../objects/ledger.js";
import { FilterError } from "../rules/filter.js";
import { expressionProblems, hasExpressions, renderTemplate, type TemplateBody } from "../rules/templates.js";
import { detailPath } from "../util/detail-path.js";
import { emitWebhookEvent } from "../webhooks/emit.js";
import { emitMessageCompleted } from "../webhooks/message-completed.js";
import { emitJobResults } from "../webhooks/recipient-events.js";
import { audienceQuery } from "./audience.js";
import { canonicalJson } from "./canonical.js";
import { type DeliverySpec, deliverySpec, loadDeliverySpec } from "./record.js";
import { findTemplate } from "./template-store.js";

export type { SendBody } from "../messages/schema.js";

/** What a template may also draw on: the event that triggered an automation ({{event.…}}). */
export interface SendContext {
	event?: { name: string; properties?: Record<string, unknown> };
	/**
	 * Keeps work going after the response (the Worker's `waitUntil`). Given, an unthrottled broadcast
	 * is fanned out right here instead of through the queue: no queue hop before the first delivery.
	 */
	background?: (work: Promise<unknown>) => void;
	/** The app's settings and shard count when the caller already read them (with its key). */
	app?: CallerApp;
	/** What sends it when not the API (the message log filters on it). */
	source?: { kind: "schedule" | "automation"; id: string };
}

export interface Accepted {
	id: string;
	createdAt: string;
	/** A repeat of an idempotency key with the same body: nothing was sent again. */
	replayed: boolean;
}

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
/** The template id of inline content with {{…}} (it renders per recipient like a template). */
export const INLINE_TEMPLATE_ID = "inline";

/** Every accepted message writes this row: prepared once (core/db/prepared.ts). */
const insertMessage = preparedOnce((d) => {
	const p = (name: keyof typeof messages.$inferInsert) => sql.placeholder(name);
	return d
		.insert(messages)
		.values({
			appId: p("appId"),
			id: p("id"),
			audience: p("audience"),
			content: p("content"),
			options: p("options"),
			idempotencyKey: p("idempotencyKey"),
			bodyHash: p("bodyHash"),
			createdAt: p("createdAt"),
			expiresAt: p("expiresAt"),
			template: p("template"),
			isDirect: p("isDirect"),
			sourceKind: p("sourceKind"),
			sourceId: p("sourceId"),
		})
		.prepare();
});
/** How long an inline fan-out pages before the rest of the audience goes through the queue. */
const INLINE_RESOLVE_BUDGET_MS = 10_000;

/**
 * Accepts a message for an app: the one path shared by the API, schedules and automations. When it
 * returns, the message is durable: a `users` audience is in every inbox, any other is recorded in
 * its ledger, which drives the fan-out to the end (inline, through the queue, or re-driven).
 */
export async function acceptMessage(env: Env, appId: string, body: SendBody, context: SendContext = {}): Promise<Accepted> {
	const { content, template } = await resolveContent(env, appId, body, context);
	const contentJson = JSON.stringify(content);
	const contentBytes = new TextEncoder().encode(contentJson).byteLength;
	if (contentBytes > MAX_CONTENT_BYTES) {
		throw new AppError("payload_too_large", "content is over 64 KiB when serialized.", [
			{ path: "content", message: `${contentBytes} bytes; the limit is ${MAX_CONTENT_BYTES}` },
		]);
	}
	const options = body.options ?? {};
	const audience: StoredAudience = "users" in body.audience ? { users: [...new Set(body.audience.users)] } : body.audience;
	if (!("users" in audience)) {
		try {
			audienceQuery(appId, audience, "", 1);
		} catch (err) {
			if (!(err instanceof FilterError)) throw err;
			throw new AppError("invalid_request", "The audience filter is too large for one query with these tags.", [
				{ path: "audience.filter", message: err.message },
			]);
		}
	}
	const bodyHash = toHex(await sha256(canonicalJson(body)));
	const d = db(env);

	const key = options.idempotency_key;
	if (key) {
		const prior = await findByIdempotencyKey(d, appId, key);
		if (prior && Date.parse(prior.createdAt) > Date.now() - IDEMPOTENCY_WINDOW_MS) {
			if (prior.bodyHash !== bodyHash) throw conflict();
			// The first call may have failed after recording the message (a 503 asks for this retry):
			// a replay finishes its delivery. Broadcasts are driven to the end by their ledger.
			if ("users" in prior.audience) await resumeDirect(env, appId, prior.id, prior.audience.users);
			return { id: prior.id, createdAt: prior.createdAt, replayed: true };
		}
		if (prior) {
			// Past its 24 hours the key is free again; the old message keeps its id.
			await d
				.update(messages)
				.set({ idempotencyKey: null })
				.where(and(eq(messages.appId, appId), eq(messages.id, prior.id)));
		}
	}

	const app = context.app ?? (await appForSend(d, appId));
	if (!app) throw new AppError("unauthorized", "The app of this key no longer exists.");
	const planBytes = app.plan?.limits.content_bytes;
	if (planBytes !== undefined && contentBytes > planBytes) {
		throw new AppError("payload_too_large", `content is over this app's plan limit of ${planBytes} bytes when serialized.`, [
			{ path: "limits.content_bytes", message: `${contentBytes} bytes; the plan allows ${planBytes}` },
		]);
	}
	// Every vendor this message may go through must be able to carry it: 413 naming the channel.
	if ((options.channels ?? "auto") !== "ws") await checkVendorPayloads(env, appId, content, options);
	const now = Date.now();
	const id = timeOrderedId("msg", now);
	const createdAt = new Date(now).toISOString();
	const expiresAt = now + (options.ttl_seconds ?? DEFAULT_TTL_SECONDS) * 1000;
	// The API's meter counted a request's send already; a schedule's or automation's counts here.
	const refund = context.source ? await reserveSend(env, appId, app.plan?.limits) : undefined;
	try {
		await insertMessage(d).run({
			appId,
			id,
			audience,
			content,
			options,
			idempotencyKey: key ?? null,
			bodyHash,
			createdAt,
			expiresAt: new Date(expiresAt).toISOString(),
			template: template ?? null,
			isDirect: "users" in audience,
			sourceKind: context.source?.kind ?? null,
			sourceId: context.source?.id ?? null,
		});
	} catch (err) {
		await refund?.();
		// Two requests raced with one idempotency key: the unique index let one through.
		const winner = key ? await findByIdempotencyKey(d, appId, key) : undefined;
		if (!winner) throw err;
		if (winner.bodyHash !== bodyHash) throw conflict();
		if ("users" in winner.audience) await resumeDirect(env, appId, winner.id, winner.audience.users);
		return { id: winner.id, createdAt: winner.createdAt, replayed: true };
	}

	const spec = deliverySpec(appId, id, content, options, {
		sentAt: createdAt,
		expiresAt,
		settings: app.settings,
		shardCount: app.shardCount,
		template,
		direct: "users" in audience,
	});
	// A direct message every inbox took is complete now; the others complete in their ledger.
	let complete = false;
	if ("users" in audience) {
		complete = await deliverDirect(env, spec, audience.users);
	} else {
		const resolve = { kind: "resolve", appId, messageId: id, audience, after: null, jobsSoFar: 0 } satisfies FanoutJob;
		try {
			// The ledger keeps the resolve job and re-drives the fan-out until every shard has it:
			// accepted means driven to the end, even if the queued job is lost.
			await ledgerFor(env, appId, id).begin(resolve, redriveAfterMs(options.throttle_per_minute));
			if (context.background && !options.throttle_per_minute) {
				context.background(resolveInline(env, spec, resolve, INLINE_RESOLVE_BUDGET_MS));
			} else {
				await env.FANOUT.send(resolve);
			}
		} catch (err) {
			// Not recorded means not accepted: take the row back so the caller can simply retry.
			await d.delete(messages).where(and(eq(messages.appId, appId), eq(messages.id, id)));
			await refund?.();
			throw err;
		}
	}
	const webhooks = acceptedWebhooks(env, appId, id, createdAt, complete, context.source);
	if (context.background) context.background(webhooks);
	else await webhooks;
	return { id, createdAt, replayed: false };
}

/**
 * `message.accepted` once accepting is final (a broadcast whose start failed was taken back), then
 * `message.completed` for a direct message that is already complete. After the response when the
 * caller can keep work going; never throws.
 */
async function acceptedWebhooks(
	env: Env,
	appId: string,
	id: string,
	createdAt: string,
	complete: boolean,
	source: SendContext["source"],
): Promise<void> {
	await emitWebhookEvent(env, appId, "message.accepted", { id, created_at: createdAt, ...(source ? { source } : {}) });
	if (complete) await emitMessageCompleted(env, appId, id);
}

/**
 * The message's content: given as is, or a template snapshot (later template edits do not change an
 * accepted message) whose preview, rendered with no user, stands for it in the API and size checks.
 */
async function resolveContent(
	env: Env,
	appId: string,
	body: SendBody,
	context: SendContext,
): Promise<{ content: StoredContent; template?: StoredTemplate }> {
	const bad = (path: string, message: string) => new AppError("invalid_request", message, [{ path, message }]);
	if (body.template_id === undefined) {
		if (!body.content) throw bad("content", "Give content, or a template_id.");
		if (!hasExpressions(body.content)) {
			if (body.variables) throw bad("variables", "variables go with a template_id or with {{…}} in content.");
			return { content: body.content };
		}
		// Inline content with {{…}} renders per recipient exactly like a template of one variant.
		const problems = expressionProblems(body.content);
		if (problems.length) {
			throw new AppError(
				"invalid_request",
				"content has {{…}} that cannot render (write \\{{ for literal braces).",
				problems.slice(0, 50).map((p) => ({ path: detailPath(["content", ...p.path]), message: p.message })),
			);
		}
		return rendered(
			{
				id: INLINE_TEMPLATE_ID,
				definition: { name: "inline", variants: { und: body.content as TemplateBody["variants"][string] } },
				variables: body.variables ?? {},
				...(context.event ? { event: context.event } : {}),
			},
			"content",
		);
	}
	if (body.content) throw bad("content", "Give content or a template_id, not both.");
	const row = await findTemplate(env, appId, body.template_id);
	if (!row) throw bad("template_id", "No such template in this app.");
	return rendered(
		{
			id: row.id,
			definition: row.definition,
			variables: body.variables ?? {},
			...(context.event ? { event: context.event } : {}),
		},
		"template_id",
	);
}

/** Template messages keep this snapshot; its preview, rendered with no user, stands for the content. */
function rendered(template: StoredTemplate, field: string): { content: StoredContent; template: StoredTemplate } {
	const preview = Content.safeParse(
		renderTemplate(template.definition, { user: { id: "" }, vars: template.variables, event: template.event ?? null }),
	);
	if (!preview.success) {
		const message = `It does not render to valid content: ${preview.error.issues[0]?.message}`;
		throw new AppError("invalid_request", message, [{ path: field, message }]);
	}
	return { content: preview.data, template };
}

/**
 * A `users` audience goes straight to the shards that hold them, so direct pushes never wait on queue batching.
 * Inboxes that stay unreachable are handed to the queue, whose retries and dead-letter queue own
 * them from there.
 */
async function deliverDirect(env: Env, spec: DeliverySpec, users: string[]): Promise<boolean> {
	const results = await deliverToShards(env, spec, users, 0);
	const failed = results.filter((r) => r.outcome === "failed").map((r) => r.userId);
	const reached = results.filter((r) => r.outcome !== "failed");
	// Vendor pushes only for recipients this call put in their inbox (a resumed delivery does not
	// push again to those an earlier attempt reached).
	await dispatchToVendors(
		env,
		spec.appId,
		spec.messageId,
		usersForVendors(
			spec,
			reached.filter((r) => !r.duplicate),
		),
	);
	if (failed.length) {
		const jobs: DeliverJob[] = [];
		for (let i = 0; i < failed.length; i += 100) {
			const some = failed.slice(i, i + 100);
			jobs.push({
				kind: "deliver",
				appId: spec.appId,
				messageId: spec.messageId,
				jobKey: `retry:${some[0]}`,
				part: RETRY_PARTS + i / 100,
				users: some,
			});
		}
		await env.FANOUT.sendBatch(jobs.map((body) => ({ body })));
		// Only now does the message need a ledger: its status waits for the queued retries.
		await recordJob(env, spec, "direct", reached, 1 + jobs.length);
		return false;
	}
	// Otherwise no ledger at all: every inbox has it, and counts are read from the inboxes.
	await emitJobResults(env, spec.appId, spec.messageId, results);
	return true;
}

/**
 * Finishes a direct message whose first attempt failed after it was recorded: every recipient's
 * shard gets it (shards drop what they already have, by message id), and vendors are asked only
 * for the recipients that get it now.
 */
async function resumeDirect(env: Env, appId: string, messageId: string, users: string[]) {
	const spec = await loadDeliverySpec(env, appId, messageId);
	if (spec) await deliverDirect(env, spec, users);
}

/**
 * How long a broadcast's fan-out may go without progress before its ledger drives it again: 30 s,
 * or three job intervals of a throttled broadcast (jobs of 100 users at its rate).
 */
function redriveAfterMs(throttlePerMinute: number | undefined): number {
	const interval = throttlePerMinute ? (DELIVER_JOB_USERS / throttlePerMinute) * 60_000 : 0;
	return Math.max(30_000, 3 * interval);
}

function conflict() {
	return new AppError("conflict", "This idempotency key was used with a different body in the last 24 hours.", [
		{ path: "options.idempotency_key", message: "reused with a different body" },
	]);
}

function findByIdempotencyKey(d: ReturnType<typeof db>, appId: string, key: string) {
	return d
		.select({ id: messages.id, bodyHash: messages.bodyHash, createdAt: messages.createdAt, audience: messages.audience })
		.from(messages)
		.where(and(eq(messages.appId, appId), eq(messages.idempotencyKey, key)))
		.get();
}
