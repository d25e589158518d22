import { and, eq, sql } from "drizzle-orm";
import { unsealSecret } from "../auth/keyring.js";
import { db } from "../db/client.js";
import { auditLog, webhookDeliveries, webhookEndpoints } from "../db/schema.js";
import { errorText } from "../util/errors.js";
import { emitWebhookEvent } from "./emit.js";
import { invalidateEndpoints } from "./endpoints-cache.js";
import type { WebhookJob } from "./events.js";
import { MAX_QUEUE_DELAY_S, nextDelayMs, parseRetryAfter, retrySchedule } from "./schedule.js";
import { signedHeaders } from "./sign.js";
import { checkWebhookUrl } from "./url.js";
import { countAttempt } from "./usage.js";

/** How long one attempt may take before it counts as failed. */
export const ATTEMPT_TIMEOUT_MS = 15_000;
/** An endpoint is disabled when this many events in a row exhausted their retries … */
export const DISABLE_AFTER_EXHAUSTED_EVENTS = 5;
/** … and it has not had a successful delivery for this long. */
export const DISABLE_AFTER_FAILING_MS = 3 * 24 * 3_600_000;

type Delivery = typeof webhookDeliveries.$inferSelect;
type Endpoint = typeof webhookEndpoints.$inferSelect;

interface Outcome {
	ok: boolean;
	status: number | null;
	/** A short, sanitized status line: never the response body. */
	line: string;
	retryAfterS: number | null;
}

/** Runs one queued job: waits out a long delay in hops, skips stale jobs, else makes one attempt. */
export async function runWebhookJob(env: Env, job: WebhookJob, now = Date.now()): Promise<void> {
	if (job.due > now + 1_000) {
		await requeue(env, job, job.due - now);
		return;
	}
	const d = db(env);
	const delivery = await d
		.select()
		.from(webhookDeliveries)
		.where(and(eq(webhookDeliveries.appId, job.appId), eq(webhookDeliveries.id, job.deliveryId)))
		.get();
	if (!delivery) return;
	if (!job.replay && (delivery.status !== "pending" || delivery.attempts !== job.attempt)) return;
	const endpoint = await d
		.select()
		.from(webhookEndpoints)
		.where(and(eq(webhookEndpoints.appId, job.appId), eq(webhookEndpoints.id, delivery.endpointId)))
		.get();
	if (!endpoint?.enabled) {
		await finish(env, delivery, "failed", null, endpoint ? "endpoint disabled" : "endpoint deleted", now);
		return;
	}
	const outcome = await attempt(env, endpoint, delivery);
	const done = Date.now();
	if (outcome.ok) {
		await finish(env, delivery, "succeeded", outcome.status, outcome.line, done, true);
		if (endpoint.failingSince !== null || endpoint.exhaustedStreak !== 0) {
			await d
				.update(webhookEndpoints)
				.set({ failingSince: null, exhaustedStreak: 0 })
				.where(and(eq(webhookEndpoints.appId, endpoint.appId), eq(webhookEndpoints.id, endpoint.id)));
		}
		return;
	}
	if (outcome.status === 410) {
		await finish(env, delivery, "failed", 410, outcome.line, done, true);
		await disable(env, endpoint, "the endpoint answered 410 Gone", done);
		return;
	}
	const attempts = delivery.attempts + 1;
	const delay = job.replay ? null : nextDelayMs(retrySchedule(env), attempts, outcome.retryAfterS);
	if (delay === null) {
		await finish(env, delivery, "failed", outcome.status, outcome.line, done, true);
		if (!job.replay) await recordExhausted(env, endpoint, done);
		return;
	}
	const due = done + delay;
	await d.batch([
		d
			.update(webhookDeliveries)
			.set({ attempts, lastResponseStatus: outcome.status, lastError: outcome.line, nextAttemptAt: due, updatedAt: done })
			.where(and(eq(webhookDeliveries.appId, delivery.appId), eq(webhookDeliveries.id, delivery.id))),
		countAttempt(d, delivery.appId, done),
		d
			.update(webhookEndpoints)
			.set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${done})` })
			.where(and(eq(webhookEndpoints.appId, endpoint.appId), eq(webhookEndpoints.id, endpoint.id))),
	]);
	await requeue(env, { appId: job.appId, deliveryId: job.deliveryId, due, attempt: attempts }, delay);
}

/** A delay longer than the queue allows is taken in hops: the job comes back early and is re-sent. */
async function requeue(env: Env, job: WebhookJob, delayMs: number): Promise<void> {
	const delaySeconds = Math.min(Math.max(Math.ceil(delayMs / 1000), 0), MAX_QUEUE_DELAY_S);
	await env.WEBHOOKS.send(job, { contentType: "json", delaySeconds });
}

async function attempt(env: Env, endpoint: Endpoint, delivery: Delivery): Promise<Outcome> {
	const refused = checkWebhookUrl(endpoint.url, env);
	if (refused) return { ok: false, status: null, line: refused, retryAfterS: null };
	const now = Date.now();
	const secrets = [await unsealSecret(env, endpoint.secret)];
	if (endpoint.previousSecret && (endpoint.previousSecretUntil ?? 0) > now) {
		secrets.push(await unsealSecret(env, endpoint.previousSecret));
	}
	const headers = await signedHeaders(secrets, delivery.eventId, Math.floor(now / 1000), delivery.body);
	try {
		const res = await fetch(endpoint.url, {
			method: "POST",
			headers: { ...headers, "content-type": "application/json", "user-agent": "Warbler-Webhooks/1" },
			body: delivery.body,
			redirect: "manual",
			signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
		});
		// The body is the receiver's business: never read, stored or echoed.
		await res.body?.cancel();
		const ok = res.status >= 200 && res.status < 300;
		return {
			ok,
			status: res.status,
			line: statusLine(res.status, res.statusText),
			retryAfterS: ok ? null : parseRetryAfter(res.headers.get("retry-after"), Date.now()),
		};
	} catch (err) {
		const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
		return {
			ok: false,
			status: null,
			line: timedOut ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s` : sanitize(`request failed: ${errorText(err)}`),
			retryAfterS: null,
		};
	}
}

function statusLine(status: number, text: string): string {
	const redirect = status >= 300 && status < 400 ? " (redirects are not followed)" : "";
	return sanitize(`HTTP ${status}${text ? ` ${text}` : ""}${redirect}`);
}

/** Printable ASCII, at most 200 characters: safe to show in the delivery log. */
function sanitize(s: string): string {
	return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
}

async function finish(
	env: Env,
	delivery: Delivery,
	status: "succeeded" | "failed",
	code: number | null,
	line: string,
	at: number,
	attempted = false,
): Promise<void> {
	const d = db(env);
	const update = d
		.update(webhookDeliveries)
		.set({
			status,
			attempts: attempted ? delivery.attempts + 1 : delivery.attempts,
			lastResponseStatus: code ?? (attempted ? null : delivery.lastResponseStatus),
			lastError: status === "succeeded" ? null : line,
			nextAttemptAt: null,
			updatedAt: at,
		})
		.where(and(eq(webhookDeliveries.appId, delivery.appId), eq(webhookDeliveries.id, delivery.id)));
	if (attempted) await d.batch([update, countAttempt(d, delivery.appId, at)]);
	else await update;
}

/** Every retry of an event failed: count it, and disable an endpoint that has been failing for days. */
async function recordExhausted(env: Env, endpoint: Endpoint, at: number): Promise<void> {
	const d = db(env);
	const streak = endpoint.exhaustedStreak + 1;
	const since = endpoint.failingSince ?? at;
	await d
		.update(webhookEndpoints)
		.set({ exhaustedStreak: streak, failingSince: since })
		.where(and(eq(webhookEndpoints.appId, endpoint.appId), eq(webhookEndpoints.id, endpoint.id)));
	if (streak >= DISABLE_AFTER_EXHAUSTED_EVENTS && at - since >= DISABLE_AFTER_FAILING_MS) {
		await disable(env, endpoint, `every retry failed for ${streak} events in a row since ${new Date(since).toISOString()}`, at);
	}
}

/** Disables an endpoint, records it in the audit log and tells the app's other endpoints (webhook.disabled). */
async function disable(env: Env, endpoint: Endpoint, reason: string, at: number): Promise<void> {
	const d = db(env);
	const iso = new Date(at).toISOString();
	await d.batch([
		d
			.update(webhookEndpoints)
			.set({ enabled: false, disabledReason: reason, updatedAt: iso })
			.where(and(eq(webhookEndpoints.appId, endpoint.appId), eq(webhookEndpoints.id, endpoint.id))),
		d
			.insert(auditLog)
			.values({ appId: endpoint.appId, actor: "warbler", action: "webhook.disabled", target: endpoint.id, at: iso }),
	]);
	invalidateEndpoints(endpoint.appId);
	await emitWebhookEvent(env, endpoint.appId, "webhook.disabled", { id: endpoint.id, url: endpoint.url, reason });
}
