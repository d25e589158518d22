import { z } from "@hono/zod-openapi";
import {
	AutomationMessage,
	EventInput,
	EventName,
	EventProperties,
	eventTimeProblem,
	MAX_CANCEL_ON,
	MAX_DELAY_SECONDS,
	MAX_EVENTS_PER_REQUEST,
	MAX_ONCE_PER_SECONDS,
} from "../../core/automations/schema.js";
import { Filter } from "../../core/rules/filter.js";
import { Rfc3339 } from "../../core/rules/time.js";
import { Cursor, Id, pageLimit } from "./common.js";

export { AutomationMessage, EventInput, EventName, MAX_EVENTS_PER_REQUEST };

/**
 * One object for both forms (a union would report a failed batch at the root instead of at
 * `events[3].user_id`): either `events` alone, or one event's fields at the top level.
 */
export const EventsBody = z
	.strictObject({
		events: z.array(EventInput).min(1).max(MAX_EVENTS_PER_REQUEST).optional().openapi({
			description: "Batch form: 1–1,000 events. When present, no other field may be.",
		}),
		id: Id.optional().openapi({ description: "Single form: your id for the event (see Event.id)." }),
		user_id: Id.optional(),
		name: EventName.optional(),
		properties: EventProperties.optional(),
		time: Rfc3339.optional(),
	})
	.superRefine((b, ctx) => {
		if (b.events) {
			for (const k of ["id", "user_id", "name", "properties", "time"] as const) {
				if (b[k] !== undefined) ctx.addIssue({ code: "custom", path: [k], message: "not allowed beside events" });
			}
			return;
		}
		if (b.user_id === undefined) ctx.addIssue({ code: "custom", path: ["user_id"], message: "required (or send events)" });
		if (b.name === undefined) ctx.addIssue({ code: "custom", path: ["name"], message: "required (or send events)" });
		const problem = eventTimeProblem(b.time);
		if (problem) ctx.addIssue({ code: "custom", path: ["time"], message: problem });
	})
	.openapi("EventsRequest", {
		description: "One event `{id?, user_id, name, properties?, time?}`, or a batch `{events: [...]}` of up to 1,000.",
		example: { user_id: "u1", name: "cart.abandoned", properties: { total: 42, currency: "EUR" } },
	});

export const EventsAccepted = z
	.object({
		accepted: z.number().int().openapi({ description: "Events recorded." }),
		repeated: z.number().int().openapi({
			description: "Of those, events whose `id` this app already sent in the last 24 hours: nothing was done for them.",
		}),
		triggered: z.number().int().openapi({
			description: "Automation runs started: sent now, or waiting for their delay in the user's timer.",
		}),
		event_ids: z
			.array(z.string())
			.openapi({ description: "Each event's id in request order: yours where you gave one, else the one minted for it." }),
	})
	.openapi("EventsAccepted");

const Trigger = z.strictObject({
	event: EventName,
	where: Filter.optional().openapi({ description: "Conditions on the event's properties (same shape as audience filters)." }),
});

const DelaySeconds = z
	.number()
	.int()
	.min(0)
	.max(MAX_DELAY_SECONDS)
	.openapi({ description: "Wait this long after the event's time before sending (0 or absent: at once). ≤ 30 days." });
const CancelOn = z
	.array(EventName)
	.max(MAX_CANCEL_ON)
	.openapi({ description: "A waiting send is dropped when the same user sends any of these events before it fires." });
const OncePer = z
	.number()
	.int()
	.min(1)
	.max(MAX_ONCE_PER_SECONDS)
	.openapi({ description: "At most one send per user within this many seconds; later triggers are ignored." });
const AutomationName = z.string().min(1).max(200);

export const CreateAutomationBody = z
	.strictObject({
		name: AutomationName,
		trigger: Trigger,
		delay_seconds: DelaySeconds.optional(),
		cancel_on: CancelOn.optional(),
		message: AutomationMessage,
		once_per_user_within_seconds: OncePer.optional(),
		enabled: z.boolean().optional().openapi({ description: "Default true." }),
	})
	.openapi("CreateAutomationRequest", {
		example: {
			name: "Abandoned cart",
			trigger: { event: "cart.updated", where: { attr: "total", op: "gt", value: 0 } },
			delay_seconds: 3600,
			cancel_on: ["order.placed"],
			message: { content: { type: "text", title: "Still thinking?", body: "Your cart is waiting" } },
			once_per_user_within_seconds: 86400,
			enabled: true,
		},
	});

export const PatchAutomationBody = z
	.strictObject({
		name: AutomationName.optional(),
		trigger: Trigger.optional(),
		delay_seconds: DelaySeconds.nullable().optional(),
		cancel_on: CancelOn.nullable().optional(),
		message: AutomationMessage.optional(),
		once_per_user_within_seconds: OncePer.nullable().optional(),
		enabled: z.boolean().optional(),
	})
	.refine((b) => Object.values(b).some((v) => v !== undefined), "change at least one field")
	.openapi("PatchAutomationRequest", { description: "Fields to change; null clears an optional one." });

export const AutomationView = z
	.object({
		id: z.string(),
		name: z.string(),
		trigger: Trigger,
		delay_seconds: z.number().int(),
		cancel_on: z.array(z.string()),
		message: AutomationMessage,
		once_per_user_within_seconds: z.number().int().nullable(),
		enabled: z.boolean(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("Automation");

export const AutomationIdParam = z.object({ id: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, "not an automation id") });
export const AutomationListQuery = z.strictObject({
	enabled: z.enum(["true", "false"]).optional(),
	cursor: Cursor,
	limit: pageLimit(50, 200).optional(),
});
