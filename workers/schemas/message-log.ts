import { z } from "@hono/zod-openapi";
import { Cursor, Id, pageLimit } from "./common.js";

const Instant = z.iso.datetime({ offset: true });

export const MessageLogQuery = z.strictObject({
	status: z.enum(["accepted", "fanning_out", "done", "recalled"]).optional(),
	audience: z.enum(["users", "tags", "all", "filter"]).optional(),
	template_id: Id.optional(),
	schedule_id: Id.optional(),
	automation_id: Id.optional(),
	from: Instant.optional(),
	to: Instant.optional(),
	q: Id.optional().openapi({ description: "A message id or an idempotency key (exact)." }),
	user_id: Id.optional().openapi({ description: "`users` messages that named this user." }),
	tag: Id.optional().openapi({ description: "Broadcasts whose tag rules name this tag." }),
	cursor: Cursor,
	limit: pageLimit(50, 100).optional(),
});

export const MessageLogPage = z
	.object({
		messages: z.array(
			z.object({
				id: z.string(),
				status: z.enum(["accepted", "fanning_out", "done", "recalled"]),
				audience_kind: z.enum(["users", "tags", "all", "filter"]),
				users: z.number().int().optional(),
				content: z.object({ type: z.string(), title: z.string().optional(), body: z.string().optional() }),
				category: z.string().nullable(),
				template_id: z.string().nullable(),
				source: z.object({ kind: z.enum(["schedule", "automation"]), id: z.string() }).nullable(),
				idempotency_key: z.string().nullable(),
				created_at: z.string(),
			}),
		),
		next_cursor: z.string().nullable(),
	})
	.openapi("MessageLog");

const Step = z.object({ targeted: z.number().int(), delivered: z.number().int() });

export const Funnel = z
	.object({
		targeted: z.number().int(),
		delivered: z.number().int(),
		opened: z.number().int(),
		clicked: z.number().int(),
		by_channel: z.record(z.string(), Step),
	})
	.openapi("Funnel");
