import { OpenAPIHono } from "@hono/zod-openapi";
import { adminAuth, appKeyAuth } from "./http/auth.js";
import { jsonBody } from "./http/body.js";
import type { HonoEnv } from "./http/context.js";
import { AppError, errorResponse } from "./http/errors.js";
import { meterRequests } from "./http/metering.js";
import { validationError } from "./http/validation.js";
import { adminRoutes } from "./routes/admin.js";
import { appRoutes } from "./routes/apps.js";
import { audienceRoutes } from "./routes/audience.js";
import { automationRoutes } from "./routes/automations.js";
import { connectRoutes } from "./routes/connect.js";
import { consoleRoutes } from "./routes/console.js";
import { consolePageRoutes } from "./routes/console-page.js";
import { credentialRoutes } from "./routes/credentials.js";
import { docsRoutes } from "./routes/docs.js";
import { keyRoutes } from "./routes/keys.js";
import { messageRoutes } from "./routes/messages.js";
import { planRoutes } from "./routes/plans.js";
import { receiptRoutes } from "./routes/receipts.js";
import { scheduleRoutes } from "./routes/schedules.js";
import { settingsRoutes } from "./routes/settings.js";
import { statsRoutes } from "./routes/stats.js";
import { tagRoutes } from "./routes/tags.js";
import { templateRoutes } from "./routes/templates.js";
import { usageRoutes } from "./routes/usage.js";
import { userSearchRoutes } from "./routes/user-search.js";
import { userRoutes } from "./routes/users.js";
import { webhookRoutes } from "./routes/webhooks.js";

/** Route families that an app key scopes to its app. */
const APP_KEY_ROUTES = [
	"/v1/users",
	"/v1/tags",
	"/v1/messages",
	"/v1/credentials",
	"/v1/schedules",
	"/v1/settings",
	"/v1/templates",
	"/v1/automations",
	"/v1/events",
	"/v1/stats",
	"/v1/webhooks",
	"/v1/keys",
	"/v1/audience",
	"/v1/usage",
] as const;

/** The HTTP API: auth by path, one JSON body reader, routes, the OpenAPI document and its docs UI. */
export function createApp() {
	const api = new OpenAPIHono<HonoEnv>({
		defaultHook: (result) => {
			if (!result.success) throw validationError(result.error.issues, result.target);
		},
	});
	api.onError((err) => errorResponse(err));
	api.notFound((c) => {
		const { error, allow } = unmatched(api, c.req.path, c.req.method);
		const res = errorResponse(error);
		if (allow) res.headers.set("allow", allow);
		return res;
	});

	// `/v1/x/*` matches `/v1/x` itself too (one registration, one check).
	api.use("/v1/apps/*", adminAuth);
	api.use("/v1/admin/*", adminAuth);
	for (const base of APP_KEY_ROUTES) {
		// `/v1/x/*` matches `/v1/x` itself too: one registration, so the key is checked (one D1 read)
		// and the request metered (workers/http/metering.ts) once, not twice on collection routes.
		api.use(`${base}/*`, appKeyAuth, meterRequests);
	}
	api.use("*", jsonBody);

	appRoutes(api);
	userRoutes(api);
	tagRoutes(api);
	messageRoutes(api);
	connectRoutes(api);
	credentialRoutes(api);
	adminRoutes(api);
	scheduleRoutes(api);
	automationRoutes(api);
	settingsRoutes(api);
	templateRoutes(api);
	planRoutes(api);
	usageRoutes(api);
	statsRoutes(api);
	webhookRoutes(api);
	keyRoutes(api);
	userSearchRoutes(api);
	audienceRoutes(api);
	consoleRoutes(api);
	// Vendor receipts: no app key (the URL's HMAC token is the credential); JSON, or the form Xiaomi and
	// Meizu post (workers/http/body.ts).
	receiptRoutes(api);

	api.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
		type: "http",
		scheme: "bearer",
		description: "The deployment's ADMIN_TOKEN secret. Only for /v1/apps.",
	});
	api.openAPIRegistry.registerComponent("securitySchemes", "appKey", {
		type: "http",
		scheme: "bearer",
		description:
			"An app key secret (wbsk.…), shown once at creation. Scopes: read, send, manage; each route's security requirement names the one it needs.",
	});
	api.openAPIRegistry.registerComponent("securitySchemes", "clientToken", {
		type: "http",
		scheme: "bearer",
		bearerFormat: "JWT",
		description: "A client token from POST /v1/users/{userId}/tokens.",
	});
	api.doc31("/v1/openapi.json", {
		openapi: "3.1.0",
		info: {
			title: "Warbler API",
			version: "1.0.0",
			description:
				"Push notifications and lightweight IM on your own Cloudflare account. The full HTTP and WebSocket " +
				"contract (errors, limits, scopes, frames, close codes) is docs/api.md in the Warbler repository; " +
				"each app-key route's security requirement names the scope it needs.",
		},
	});
	docsRoutes(api);
	consolePageRoutes(api);
	api.get("/", (c) => c.json({ name: "warbler", docs: "/docs", openapi: "/v1/openapi.json" }));
	return api;
}

/** Unknown paths answer 404; known paths with another method answer 405 with Allow. */
function unmatched(api: OpenAPIHono<HonoEnv>, path: string, method: string): { error: AppError; allow?: string } {
	const allowed = new Set<string>();
	for (const r of api.routes) {
		if (r.method === "ALL") continue;
		const pattern = new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*")}$`);
		if (pattern.test(path)) allowed.add(r.method);
	}
	if (allowed.size > 0) {
		const allow = [...allowed].join(", ");
		return {
			error: new AppError("method_not_allowed", `${method} is not allowed here; use ${[...allowed].join(" or ")}.`),
			allow,
		};
	}
	return { error: new AppError("not_found", `No route ${method} ${path}.`) };
}
