import { z } from "@hono/zod-openapi";
import { PlanLimits } from "../../core/plans/limits.js";

export const UsageQuery = z.object({
	month: z
		.string()
		.regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be a month as YYYY-MM")
		.optional()
		.openapi({ description: "UTC month, YYYY-MM; default the current one.", example: "2026-12" }),
});

const Deliveries = z
	.record(z.string(), z.number().int())
	.openapi({ description: "Deliveries by channel: websocket, apns, fcm, …" });
const Counts = {
	api_requests: z.number().int(),
	messages_accepted: z.number().int(),
	deliveries: Deliveries,
	opens: z.number().int(),
	clicks: z.number().int(),
	peak_connections: z.number().int(),
	webhook_deliveries: z.number().int(),
};

export const UsageView = z
	.object({
		month: z.string(),
		days: z.array(z.object({ date: z.string(), ...Counts })),
		totals: z.object({ ...Counts, mau: z.number().int() }),
		mau_definition: z.string(),
		estimated_cost: z.object({
			currency: z.string(),
			total: z.number(),
			lines: z.array(
				z.object({ item: z.string(), quantity: z.number(), unit_price: z.number(), per: z.number().int(), amount: z.number() }),
			),
		}),
		plan: z.object({ id: z.string(), name: z.string(), limits: PlanLimits }).nullable(),
		quotas: z.array(
			z.object({ limit: z.string(), used: z.number().int(), max: z.number().int(), period: z.enum(["month", "total"]) }),
		),
	})
	.openapi("Usage");
