import { createRoute } from "@hono/zod-openapi";
import { monthOf } from "../../core/metering/period.js";
import { usageOf } from "../../core/metering/usage.js";
import type { Api } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { json, standardErrors } from "../schemas/common.js";
import { UsageQuery, UsageView } from "../schemas/usage.js";

const getUsage = createRoute({
	...appKeyRoute("Plans and quotas", "get", "/v1/usage", "read"),
	summary: "Usage of a UTC month per day, its estimated Cloudflare cost, the app's plan and its quotas",
	request: { query: UsageQuery },
	responses: { 200: json(UsageView, "The month's usage."), ...standardErrors },
});

export function usageRoutes(api: Api) {
	api.openapi(getUsage, async (c) => {
		const caller = c.get("caller");
		const current = monthOf(Date.now());
		const month = c.req.valid("query").month ?? current;
		if (month > current) {
			throw new AppError("invalid_request", "month is in the future.", [{ path: "month", message: `after ${current}` }]);
		}
		return c.json(await usageOf(c.env, caller.appId, month, caller.app?.plan), 200);
	});
}
