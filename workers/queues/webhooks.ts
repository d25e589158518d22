import { and, eq } from "drizzle-orm";
import { db } from "../../core/db/client.js";
import { webhookDeliveries } from "../../core/db/schema.js";
import { errorText } from "../../core/util/errors.js";
import { runWebhookJob } from "../../core/webhooks/deliver.js";
import type { WebhookJob } from "../../core/webhooks/events.js";

/**
 * Webhook deliveries: each message is one attempt (or one hop of a long wait). Retries on the
 * webhook schedule are new messages sent by `runWebhookJob`; the queue's own retries only cover an
 * attempt that crashed (D1 unavailable, …).
 */
export async function handleWebhookBatch(batch: MessageBatch<WebhookJob>, env: Env): Promise<void> {
	await Promise.all(
		batch.messages.map(async (m) => {
			try {
				await runWebhookJob(env, m.body);
				m.ack();
			} catch (err) {
				console.error(`webhook delivery ${m.body.deliveryId} crashed (attempt ${m.attempts}): ${errorText(err)}`);
				m.retry({ delaySeconds: 30 * m.attempts });
			}
		}),
	);
}

/** A delivery whose job kept crashing is recorded failed, so the log never shows it pending forever. */
export async function handleWebhookDeadLetters(batch: MessageBatch<WebhookJob>, env: Env): Promise<void> {
	for (const m of batch.messages) {
		try {
			const d = db(env);
			await d
				.update(webhookDeliveries)
				.set({
					status: "failed",
					lastError: "internal error: delivery could not be attempted",
					nextAttemptAt: null,
					updatedAt: Date.now(),
				})
				.where(and(eq(webhookDeliveries.appId, m.body.appId), eq(webhookDeliveries.id, m.body.deliveryId)));
			m.ack();
		} catch (err) {
			console.error(`webhook dead letter ${m.body.deliveryId}: ${errorText(err)}`);
			m.retry({ delaySeconds: 60 });
		}
	}
}
