import { createRoute } from "@hono/zod-openapi";
import { onlineNow } from "../../core/stats/online.js";
import { queryStats } from "../../core/stats/query.js";
import type { Api } from "../http/context.js";
import { appKeyRoute } from "../http/route.js";
import { json, standardErrors } from "../schemas/common.js";
import { OnlineView, StatsQuery, StatsView } from "../schemas/stats.js";

const TAG = "Statistics";

const getStats = createRoute({
	...appKeyRoute(TAG, "get", "/v1/stats", "read"),
	summary: "Time series of the app's messages: accepted, targeted, delivered, sent per vendor, opened, …",
	description:
		"Counts of the messages accepted in each hour or UTC day of [from, to), added up from the same numbers as each " +
		"message's own counts (later deliveries, opens and clicks count in the bucket the message was accepted in). " +
		"`group_by` splits them by channel (`websocket` for inboxes, or a vendor), platform or category.",
	request: { query: StatsQuery },
	responses: { 200: json(StatsView, "The series."), ...standardErrors },
});

const getOnline = createRoute({
	...appKeyRoute(TAG, "get", "/v1/stats/online", "read"),
	summary: "Connected users and devices right now",
	responses: { 200: json(OnlineView, "Open WebSocket connections."), ...standardErrors },
});

export function statsRoutes(api: Api) {
	api.openapi(getStats, async (c) => {
		const { appId } = c.get("caller");
		return c.json(await queryStats(c.env, appId, c.req.valid("query")), 200);
	});

	api.openapi(getOnline, async (c) => c.json(await onlineNow(c.env, c.get("caller").appId), 200));
}
