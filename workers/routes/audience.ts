import { createRoute, z } from "@hono/zod-openapi";
import { estimateAudience } from "../../core/messages/audience-estimate.js";
import { AudienceSchema } from "../../core/messages/schema.js";
import type { Api } from "../http/context.js";
import { appKeyRoute } from "../http/route.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";

const EstimateBody = z
	.strictObject({ audience: AudienceSchema })
	.openapi("AudienceEstimateRequest", { example: { audience: { tags: { any: ["sports"], none: ["muted"] } } } });

const Estimate = z
	.object({
		users: z.number().int().openapi({ description: "Users the audience resolves to now (counting stops at 100,000)." }),
		capped: z.boolean().openapi({ description: "True when counting stopped at 100,000: the audience is at least `users`." }),
	})
	.openapi("AudienceEstimate");

const estimate = createRoute({
	...appKeyRoute("Messages", "post", "/v1/audience/estimate", "read"),
	summary: "How many users an audience reaches now (the composer's live estimate); nothing is sent",
	request: jsonBody(EstimateBody),
	responses: { 200: json(Estimate, "The estimate."), ...standardErrors },
});

export function audienceRoutes(api: Api) {
	api.openapi(estimate, async (c) => {
		const { audience } = c.req.valid("json");
		return c.json(await estimateAudience(c.env.DB, c.get("caller").appId, audience), 200);
	});
}
