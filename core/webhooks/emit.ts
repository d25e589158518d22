import { timeOrderedId } from "../auth/crypto.js";
import { db } from "../db/client.js";
import { webhookDeliveries } from "../db/schema.js";
import { enabledEndpoints } from "./endpoints-cache.js";
import type { WebhookEventType, WebhookJob } from "./events.js";

/**
 * Emits one webhook event to every enabled endpoint of the app subscribed to `type`: one delivery
 * row per endpoint (the signed body is fixed here, so retries and replays send the same bytes) and
 * one queue message per endpoint. Costs nothing beyond a cache lookup when nobody subscribed.
 * Never throws: a webhook problem must not fail the send, schedule or request that caused it.
 */
export async function emitWebhookEvent(
	env: Env,
	appId: string,
	type: WebhookEventType,
	data: Record<string, unknown>,
): Promise<void> {
	try {
		const targets = (await enabledEndpoints(env, appId)).filter((e) => e.events.includes(type));
		if (targets.length === 0) return;
		const now = Date.now();
		const eventId = timeOrderedId("msg", now);
		const body = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data });
		const rows = targets.map((e) => ({
			appId,
			id: timeOrderedId("whd", now),
			endpointId: e.id,
			eventId,
			eventType: type,
			body,
			attempts: 0,
			status: "pending" as const,
			nextAttemptAt: now,
			createdAt: now,
			updatedAt: now,
		}));
		const d = db(env);
		const [first, ...rest] = rows.map((r) => d.insert(webhookDeliveries).values(r));
		if (first) await d.batch([first, ...rest]);
		const jobs: WebhookJob[] = rows.map((r) => ({ appId, deliveryId: r.id, due: now, attempt: 0 }));
		await env.WEBHOOKS.sendBatch(jobs.map((body) => ({ body, contentType: "json" as const })));
	} catch (err) {
		console.error(`webhook emit ${type} for ${appId} failed: ${err instanceof Error ? err.message : String(err)}`);
	}
}
