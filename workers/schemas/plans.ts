import { z } from "@hono/zod-openapi";
import { PlanLimits } from "../../core/plans/limits.js";

export { AppIdParam } from "./apps.js";
export { PlanLimits };

const PlanId = z
	.string()
	.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be 1–64 characters of a-z, 0-9, _ and -, starting with a letter or digit")
	.openapi({ example: "pro" });
const PlanName = z.string().trim().min(1).max(200);

export const PlanIdParam = z.object({ planId: PlanId.openapi({ param: { name: "planId", in: "path" } }) });
export const CreatePlanBody = z.strictObject({ id: PlanId, name: PlanName, limits: PlanLimits }).openapi("CreatePlanRequest", {
	example: { id: "pro", name: "Pro", limits: { messages_per_month: 1_000_000, api_requests_per_second_per_key: 100 } },
});

export const ReplacePlanBody = z
	.strictObject({ name: PlanName, limits: PlanLimits })
	.openapi("ReplacePlanRequest", { example: { name: "Pro", limits: { messages_per_month: 2_000_000 } } });

export const PlanView = z
	.object({ id: z.string(), name: z.string(), limits: PlanLimits, created_at: z.string(), updated_at: z.string() })
	.openapi("Plan");

export const PlanList = z.object({ plans: z.array(PlanView) }).openapi("PlanList");

export const AssignPlanBody = z
	.strictObject({
		plan_id: PlanId.nullable().openapi({ description: "The plan's id, or null for no plan (no limits beyond the hard ones)." }),
	})
	.openapi("AssignPlanRequest", { example: { plan_id: "pro" } });

export const AppPlanView = z.object({ app_id: z.string(), plan: PlanView.nullable() }).openapi("AppPlan");
