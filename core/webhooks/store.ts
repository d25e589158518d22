import { and, asc, count, desc, eq, lt } from "drizzle-orm";
import type { Caller } from "../auth/caller.js";
import { randomId } from "../auth/crypto.js";
import { sealSecret } from "../auth/keyring.js";
import { auditEntry, nowIso } from "../db/audit.js";
import { db } from "../db/client.js";
import { webhookDeliveries, webhookEndpoints } from "../db/schema.js";
import { AppError, notFound } from "../errors.js";
import { invalidateEndpoints } from "./endpoints-cache.js";
import { isWebhookEventType, type WebhookJob } from "./events.js";
import { newWebhookSecret } from "./sign.js";
import { checkWebhookUrl } from "./url.js";

/** Endpoints one app may have (enabled or not). */
export const MAX_ENDPOINTS_PER_APP = 20;
/** How long the secret before a rotation still signs deliveries (each carries both signatures). */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
/** The delivery log keeps, per endpoint, the newest this many rows, none older than MAX_DELIVERY_AGE_MS. */
export const MAX_DELIVERIES_PER_ENDPOINT = 1_000;
export const MAX_DELIVERY_AGE_MS = 30 * 24 * 3_600_000;

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export interface EndpointInput {
	url: string;
	events: string[];
	enabled?: boolean;
	description?: string | null;
}

/** 400 naming the field when the URL or an event type is not acceptable. */
export function validateEndpoint(env: Env, input: Partial<EndpointInput>): void {
	const details: { path: string; message: string }[] = [];
	if (input.url !== undefined) {
		const reason = checkWebhookUrl(input.url, env);
		if (reason) details.push({ path: "url", message: reason });
	}
	input.events?.forEach((e, i) => {
		if (!isWebhookEventType(e)) details.push({ path: `events.${i}`, message: `unknown event type "${e}"` });
	});
	if (details.length > 0) {
		throw new AppError("invalid_request", details.map((d) => `${d.path}: ${d.message}`).join("; "), details);
	}
}

export async function findEndpoint(env: Env, appId: string, id: string): Promise<EndpointRow | undefined> {
	return db(env)
		.select()
		.from(webhookEndpoints)
		.where(and(eq(webhookEndpoints.appId, appId), eq(webhookEndpoints.id, id)))
		.get();
}

async function mustFind(env: Env, appId: string, id: string): Promise<EndpointRow> {
	const row = await findEndpoint(env, appId, id);
	if (!row) throw notFound("webhook");
	return row;
}

export async function createEndpoint(
	env: Env,
	caller: Caller,
	input: EndpointInput,
): Promise<{ row: EndpointRow; secret: string }> {
	validateEndpoint(env, input);
	const d = db(env);
	const existing = await d.select({ n: count() }).from(webhookEndpoints).where(eq(webhookEndpoints.appId, caller.appId)).get();
	if ((existing?.n ?? 0) >= MAX_ENDPOINTS_PER_APP) {
		throw new AppError(
			"conflict",
			`This app has ${MAX_ENDPOINTS_PER_APP} webhook endpoints, the most it may keep; delete one first.`,
		);
	}
	const secret = newWebhookSecret();
	const now = nowIso();
	const row: EndpointRow = {
		appId: caller.appId,
		id: randomId("whk"),
		url: input.url,
		description: input.description ?? null,
		events: [...new Set(input.events)],
		enabled: input.enabled ?? true,
		disabledReason: null,
		secret: await sealSecret(env, secret),
		previousSecret: null,
		previousSecretUntil: null,
		failingSince: null,
		exhaustedStreak: 0,
		createdAt: now,
		updatedAt: now,
	};
	await d.batch([d.insert(webhookEndpoints).values(row), auditEntry(d, caller, caller.appId, "webhook.create", row.id)]);
	invalidateEndpoints(caller.appId);
	return { row, secret };
}

export async function listEndpoints(env: Env, appId: string): Promise<EndpointRow[]> {
	return db(env).select().from(webhookEndpoints).where(eq(webhookEndpoints.appId, appId)).orderBy(asc(webhookEndpoints.id)).all();
}

export async function getEndpoint(env: Env, appId: string, id: string): Promise<EndpointRow> {
	return mustFind(env, appId, id);
}

/** PATCH: enabling again clears the disabled reason and the failure streak. */
export async function updateEndpoint(env: Env, caller: Caller, id: string, patch: Partial<EndpointInput>): Promise<EndpointRow> {
	validateEndpoint(env, patch);
	const row = await mustFind(env, caller.appId, id);
	const next: EndpointRow = {
		...row,
		...(patch.url !== undefined ? { url: patch.url } : {}),
		...(patch.events !== undefined ? { events: [...new Set(patch.events)] } : {}),
		...(patch.description !== undefined ? { description: patch.description } : {}),
		updatedAt: nowIso(),
	};
	if (patch.enabled !== undefined) {
		next.enabled = patch.enabled;
		if (patch.enabled) Object.assign(next, { disabledReason: null, failingSince: null, exhaustedStreak: 0 });
	}
	await setWithAudit(env, caller, id, "webhook.update", {
		url: next.url,
		events: next.events,
		description: next.description,
		enabled: next.enabled,
		disabledReason: next.disabledReason,
		failingSince: next.failingSince,
		exhaustedStreak: next.exhaustedStreak,
		updatedAt: next.updatedAt,
	});
	invalidateEndpoints(caller.appId);
	return next;
}

export async function deleteEndpoint(env: Env, caller: Caller, id: string): Promise<void> {
	await mustFind(env, caller.appId, id);
	const d = db(env);
	await d.batch([
		d.delete(webhookEndpoints).where(and(eq(webhookEndpoints.appId, caller.appId), eq(webhookEndpoints.id, id))),
		d.delete(webhookDeliveries).where(and(eq(webhookDeliveries.appId, caller.appId), eq(webhookDeliveries.endpointId, id))),
		auditEntry(d, caller, caller.appId, "webhook.delete", id),
	]);
	invalidateEndpoints(caller.appId);
}

/** A new secret, shown once; the one before keeps signing (as a second signature) for ROTATION_OVERLAP_MS. */
export async function rotateSecret(env: Env, caller: Caller, id: string): Promise<{ row: EndpointRow; secret: string }> {
	const row = await mustFind(env, caller.appId, id);
	const secret = newWebhookSecret();
	const next: EndpointRow = {
		...row,
		secret: await sealSecret(env, secret),
		previousSecret: row.secret,
		previousSecretUntil: Date.now() + ROTATION_OVERLAP_MS,
		updatedAt: nowIso(),
	};
	await setWithAudit(env, caller, id, "webhook.rotate_secret", {
		secret: next.secret,
		previousSecret: next.previousSecret,
		previousSecretUntil: next.previousSecretUntil,
		updatedAt: next.updatedAt,
	});
	return { row: next, secret };
}

/** Changes one endpoint of the caller's app and records who did it, in one batch. */
async function setWithAudit(
	env: Env,
	caller: Caller,
	id: string,
	action: string,
	set: Partial<typeof webhookEndpoints.$inferInsert>,
): Promise<void> {
	const d = db(env);
	await d.batch([
		d
			.update(webhookEndpoints)
			.set(set)
			.where(and(eq(webhookEndpoints.appId, caller.appId), eq(webhookEndpoints.id, id))),
		auditEntry(d, caller, caller.appId, action, id),
	]);
}

/** The delivery log, newest first: `before` is the last id of the previous page. */
export async function listDeliveries(
	env: Env,
	appId: string,
	endpointId: string,
	limit: number,
	before?: string,
): Promise<DeliveryRow[]> {
	await mustFind(env, appId, endpointId);
	return db(env)
		.select()
		.from(webhookDeliveries)
		.where(
			and(
				eq(webhookDeliveries.appId, appId),
				eq(webhookDeliveries.endpointId, endpointId),
				before ? lt(webhookDeliveries.id, before) : undefined,
			),
		)
		.orderBy(desc(webhookDeliveries.id))
		.limit(limit)
		.all();
}

/** Sends a logged delivery again, now, with the same webhook-id and body (one attempt, no retries). */
export async function replayDelivery(env: Env, caller: Caller, endpointId: string, deliveryId: string): Promise<DeliveryRow> {
	const endpoint = await mustFind(env, caller.appId, endpointId);
	const d = db(env);
	const row = await d
		.select()
		.from(webhookDeliveries)
		.where(
			and(
				eq(webhookDeliveries.appId, caller.appId),
				eq(webhookDeliveries.endpointId, endpointId),
				eq(webhookDeliveries.id, deliveryId),
			),
		)
		.get();
	if (!row) throw notFound("delivery");
	if (!endpoint.enabled)
		throw new AppError("conflict", "The webhook endpoint is disabled; enable it (PATCH enabled: true) first.");
	const now = Date.now();
	const next: DeliveryRow = { ...row, status: "pending", nextAttemptAt: now, updatedAt: now };
	await d.batch([
		d
			.update(webhookDeliveries)
			.set({ status: "pending", nextAttemptAt: now, updatedAt: now })
			.where(and(eq(webhookDeliveries.appId, caller.appId), eq(webhookDeliveries.id, deliveryId))),
		auditEntry(d, caller, caller.appId, "webhook.replay", deliveryId),
	]);
	const job: WebhookJob = { appId: caller.appId, deliveryId, due: now, attempt: row.attempts, replay: true };
	await env.WEBHOOKS.send(job, { contentType: "json" });
	return next;
}

/**
 * Minute cron: drops delivery log rows older than 30 days (an index range). Once an hour it also
 * trims endpoints over 1,000 rows to their newest 1,000, a bounded batch per run, since finding them
 * walks the whole index.
 */
export async function pruneWebhookDeliveries(env: Env, now: number): Promise<void> {
	const d = db(env);
	await d.delete(webhookDeliveries).where(lt(webhookDeliveries.createdAt, now - MAX_DELIVERY_AGE_MS));
	if (new Date(now).getUTCMinutes() !== 0) return;
	await env.DB.prepare(
		`DELETE FROM webhook_deliveries WHERE (app_id, id) IN (
			SELECT app_id, id FROM (
				SELECT app_id, id, row_number() OVER (PARTITION BY app_id, endpoint_id ORDER BY id DESC) AS n
				FROM webhook_deliveries
				WHERE (app_id, endpoint_id) IN (
					SELECT app_id, endpoint_id FROM webhook_deliveries GROUP BY app_id, endpoint_id HAVING count(*) > ?1 LIMIT 20
				)
			) WHERE n > ?1 LIMIT 5000
		)`,
	)
		.bind(MAX_DELIVERIES_PER_ENDPOINT)
		.run();
}
