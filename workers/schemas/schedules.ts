import { z } from "@hono/zod-openapi";
import { When } from "../../core/rules/when.js";
import { Cursor, pageLimit } from "./common.js";
import { SendMessageBody } from "./messages.js";

const MAX_LATENESS = 30 * 24 * 3600;
export const DEFAULT_MAX_LATENESS_SECONDS = 24 * 3600;

const LatenessSeconds = z
	.number()
	.int()
	.min(0)
	.max(MAX_LATENESS)
	.openapi({
		description:
			"An occurrence found this many seconds after its time (an outage, a paused stack) is still sent late; " +
			"later than that it is recorded as missed. Default 86400.",
	});

export const CreateScheduleBody = z
	.strictObject({ message: SendMessageBody, when: When, max_lateness_seconds: LatenessSeconds.optional() })
	.openapi("CreateScheduleRequest", {
		example: {
			message: { audience: { tags: { any: ["vip"] } }, content: { type: "text", body: "Good morning" } },
			when: { cron: "0 9 * * 1-5", timezone: "Asia/Shanghai" },
		},
	});

export const PatchScheduleBody = z
	.strictObject({ message: SendMessageBody.optional(), when: When.optional(), max_lateness_seconds: LatenessSeconds.optional() })
	.refine(
		(b) => b.message || b.when || b.max_lateness_seconds !== undefined,
		"change at least one of message, when, max_lateness_seconds",
	)
	.openapi("PatchScheduleRequest");

export const ScheduleStatus = z.enum(["active", "paused", "done", "canceled"]);

export const ScheduleView = z
	.object({
		id: z.string(),
		status: ScheduleStatus,
		message: SendMessageBody,
		when: When,
		max_lateness_seconds: z.number().int(),
		next_run_at: z.string().nullable(),
		run_count: z.number().int(),
		runs: z.array(
			z.object({ at: z.string(), message_id: z.string().nullable(), outcome: z.enum(["sent", "missed"]), fired_at: z.string() }),
		),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("Schedule");

export const ScheduleIdParam = z.object({ id: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, "not a schedule id") });
export const ScheduleListQuery = z.strictObject({
	status: ScheduleStatus.optional(),
	cursor: Cursor,
	limit: pageLimit(50, 200).optional(),
});
