/** What an automation is fed (events) and what it sends (a message without an audience). */

import { Id, JsonValue } from "../json.js";
import { SendMessageBody } from "../messages/schema.js";
import type { Filter } from "../rules/filter.js";
import { parseRfc3339, Rfc3339 } from "../rules/time.js";
import { z } from "../zod.js";

export const MAX_EVENTS_PER_REQUEST = 1000;
export const MAX_DELAY_SECONDS = 30 * 24 * 3600;
export const MAX_ONCE_PER_SECONDS = 365 * 24 * 3600;
export const MAX_CANCEL_ON = 20;
export const MAX_PROPERTIES_BYTES = 8 * 1024;
/** An event may be dated this far ahead (clock skew) … */
export const EVENT_FUTURE_TOLERANCE_MS = 5 * 60_000;
/** … and this far back (late uploads from offline devices). */
export const EVENT_PAST_TOLERANCE_MS = 30 * 24 * 3600_000;

export const EventName = Id.openapi({
	description: "Event name, 1–128 characters of [A-Za-z0-9_.:@-].",
	example: "cart.abandoned",
});

export const EventProperties = z
	.record(z.string(), JsonValue)
	.refine((p) => new TextEncoder().encode(JSON.stringify(p)).byteLength <= MAX_PROPERTIES_BYTES, "over 8 KiB when serialized")
	.openapi({ description: "Free-form event properties (≤ 8 KiB); `trigger.where` conditions read them." });

/** Why an event's `time` is refused (too far ahead or back), or null. Format errors are Rfc3339's. */
export function eventTimeProblem(time: string | undefined, now = Date.now()): string | null {
	const at = time === undefined ? undefined : parseRfc3339(time)?.getTime();
	if (at === undefined) return null;
	if (at > now + EVENT_FUTURE_TOLERANCE_MS) return "more than 5 minutes in the future";
	if (at < now - EVENT_PAST_TOLERANCE_MS) return "more than 30 days in the past";
	return null;
}

export const EventInput = z
	.strictObject({
		id: Id.optional().openapi({
			description:
				"Your id for this event, 1–128 characters of [A-Za-z0-9_.:@-]: an event whose id this app sent in the last 24 hours changes nothing and triggers nothing (safe retries).",
		}),
		user_id: Id,
		name: EventName,
		properties: EventProperties.optional(),
		time: Rfc3339.optional().openapi({
			description: "When it happened (RFC 3339); default now. At most 5 minutes ahead, at most 30 days back.",
		}),
	})
	.superRefine((e, ctx) => {
		const problem = eventTimeProblem(e.time);
		if (problem) ctx.addIssue({ code: "custom", path: ["time"], message: problem });
	})
	.openapi("Event");
export type EventInput = z.infer<typeof EventInput>;

/** An automation's message: a `POST /v1/messages` body without `audience` (it goes to the event's user). */
export const AutomationMessage = SendMessageBody.omit({ audience: true })
	.superRefine((m, ctx) => {
		if (m.options?.idempotency_key !== undefined) {
			ctx.addIssue({
				code: "custom",
				path: ["options", "idempotency_key"],
				message: "set by Warbler per trigger (automation + user + event)",
			});
		}
	})
	.openapi("AutomationMessage");
export type AutomationMessageBody = z.infer<typeof AutomationMessage>;

/** What `automations.definition` holds (everything but name, enabled and the timestamps). */
export interface AutomationDefinition {
	trigger: { event: string; where?: Filter };
	delay_seconds?: number;
	cancel_on?: string[];
	message: AutomationMessageBody;
	once_per_user_within_seconds?: number;
}
