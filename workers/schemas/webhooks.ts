import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENT_TYPES } from "../../core/webhooks/events.js";
import type { DeliveryRow, EndpointRow } from "../../core/webhooks/store.js";

const EventType = z.enum(WEBHOOK_EVENT_TYPES);
const Url = z.string().min(1).max(2048).openapi({ example: "https://example.com/hooks/warbler" });
const Events = z.array(EventType).min(1).max(WEBHOOK_EVENT_TYPES.length);
const Description = z.string().max(256).nullable();

export const WebhookCreate = z
	.strictObject({ url: Url, events: Events, enabled: z.boolean().optional(), description: Description.optional() })
	.openapi("WebhookCreate");
export const WebhookPatch = z
	.strictObject({
		url: Url.optional(),
		events: Events.optional(),
		enabled: z.boolean().optional(),
		description: Description.optional(),
	})
	.openapi("WebhookPatch");

export const WebhookView = z
	.object({
		id: z.string(),
		url: z.string(),
		description: z.string().nullable(),
		events: z.array(z.string()),
		enabled: z.boolean(),
		disabled_reason: z.string().nullable().openapi({ description: "Why Warbler disabled it (a 410, days of failures)." }),
		previous_secret_valid_until: z
			.string()
			.nullable()
			.openapi({ description: "After a rotation: until when the old secret still signs." }),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("Webhook");
export const WebhookWithSecret = WebhookView.extend({
	secret: z
		.string()
		.openapi({ description: "whsec_…: shown only in this answer.", example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }),
}).openapi("WebhookWithSecret");

export const DeliveryView = z
	.object({
		id: z.string(),
		event_id: z.string().openapi({ description: "The webhook-id header: the same on every retry and replay." }),
		type: z.string(),
		status: z.enum(["pending", "succeeded", "failed"]),
		attempts: z.number().int(),
		last_response_status: z.number().int().nullable(),
		last_error: z.string().nullable().openapi({ description: "A short status line; never the response body." }),
		next_attempt_at: z.string().nullable(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("WebhookDelivery");

export function webhookView(row: EndpointRow) {
	const rotating = row.previousSecret && (row.previousSecretUntil ?? 0) > Date.now();
	return {
		id: row.id,
		url: row.url,
		description: row.description,
		events: row.events,
		enabled: row.enabled,
		disabled_reason: row.disabledReason,
		previous_secret_valid_until: rotating ? new Date(row.previousSecretUntil ?? 0).toISOString() : null,
		created_at: row.createdAt,
		updated_at: row.updatedAt,
	};
}

export function deliveryView(row: DeliveryRow) {
	return {
		id: row.id,
		event_id: row.eventId,
		type: row.eventType,
		status: row.status,
		attempts: row.attempts,
		last_response_status: row.lastResponseStatus,
		last_error: row.lastError,
		next_attempt_at: row.nextAttemptAt === null ? null : new Date(row.nextAttemptAt).toISOString(),
		created_at: new Date(row.createdAt).toISOString(),
		updated_at: new Date(row.updatedAt).toISOString(),
	};
}
