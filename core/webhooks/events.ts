/**
 * The webhook event catalogue (docs/api.md "Webhooks"). Recipient-level events are opt-in: an
 * endpoint only gets them when it lists them, and each one carries a batch of recipients.
 */
export const WEBHOOK_EVENT_TYPES = [
	"message.accepted",
	"message.completed",
	"message.recalled",
	"message.delivered",
	"message.opened",
	"message.clicked",
	"message.failed",
	"device.invalidated",
	"schedule.fired",
	"schedule.missed",
	"automation.triggered",
	"credentials.token_failed",
	"quota.warning",
	"quota.exceeded",
	"webhook.disabled",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(s: string): s is WebhookEventType {
	return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s);
}

/** What a delivery queue message names; the body itself is read from D1 so it is never re-serialized. */
export interface WebhookJob {
	appId: string;
	deliveryId: string;
	/** Epoch ms before which the attempt must not run (a delay longer than the queue allows is taken in steps). */
	due: number;
	/** Attempts already made when this job was queued: a job that no longer matches the row is stale. */
	attempt: number;
	/** A manual replay: one attempt, whatever the delivery's status. */
	replay?: boolean;
}
