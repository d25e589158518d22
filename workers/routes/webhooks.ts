import { createRoute, z } from "@hono/zod-openapi";
import { assertPlanRoom } from "../../core/plans/quota.js";
import {
	createEndpoint,
	deleteEndpoint,
	getEndpoint,
	listDeliveries,
	listEndpoints,
	replayDelivery,
	rotateSecret,
	updateEndpoint,
} from "../../core/webhooks/store.js";
import type { Api } from "../http/context.js";
import { appKeyRoute } from "../http/route.js";
import { Cursor, decodeCursor, ErrorSchema, encodeCursor, json, jsonBody, pageLimit, standardErrors } from "../schemas/common.js";
import {
	DeliveryView,
	deliveryView,
	WebhookCreate,
	WebhookPatch,
	WebhookView,
	WebhookWithSecret,
	webhookView,
} from "../schemas/webhooks.js";

const WebhookId = z.string().regex(/^whk_[A-Za-z0-9]{1,64}$/, "not a webhook id");
const IdParam = z.object({ id: WebhookId });
const DeliveryParams = z.object({ id: WebhookId, deliveryId: z.string().regex(/^whd_[A-Za-z0-9]{1,64}$/, "not a delivery id") });
const TAG = "Webhooks";

const create = createRoute({
	...appKeyRoute(TAG, "post", "/v1/webhooks", "manage"),
	summary: "Add a webhook endpoint (Standard Webhooks); its signing secret is shown only in this answer",
	request: jsonBody(WebhookCreate),
	responses: {
		201: json(WebhookWithSecret, "The endpoint and its secret."),
		409: json(ErrorSchema, "The app already has 20 endpoints."),
		...standardErrors,
	},
});
const list = createRoute({
	...appKeyRoute(TAG, "get", "/v1/webhooks", "manage"),
	summary: "The app's webhook endpoints (at most 20)",
	responses: { 200: json(z.object({ webhooks: z.array(WebhookView) }), "Every endpoint."), ...standardErrors },
});
const get = createRoute({
	...appKeyRoute(TAG, "get", "/v1/webhooks/{id}", "manage"),
	summary: "A webhook endpoint",
	request: { params: IdParam },
	responses: { 200: json(WebhookView, "The endpoint."), ...standardErrors },
});
const patch = createRoute({
	...appKeyRoute(TAG, "patch", "/v1/webhooks/{id}", "manage"),
	summary: "Change a webhook endpoint's URL, events, description, or enable/disable it",
	request: { params: IdParam, ...jsonBody(WebhookPatch) },
	responses: { 200: json(WebhookView, "The endpoint."), ...standardErrors },
});
const remove = createRoute({
	...appKeyRoute(TAG, "delete", "/v1/webhooks/{id}", "manage"),
	summary: "Delete a webhook endpoint and its delivery log",
	request: { params: IdParam },
	responses: { 204: { description: "Deleted." }, ...standardErrors },
});
const rotate = createRoute({
	...appKeyRoute(TAG, "post", "/v1/webhooks/{id}/secret/rotate", "manage"),
	summary: "New signing secret (shown once); the old one keeps signing, as a second signature, for 24 hours",
	request: { params: IdParam },
	responses: { 200: json(WebhookWithSecret, "The endpoint and its new secret."), ...standardErrors },
});
const deliveries = createRoute({
	...appKeyRoute(TAG, "get", "/v1/webhooks/{id}/deliveries", "manage"),
	summary: "The endpoint's delivery log, newest first (last 1,000 deliveries, 30 days at most)",
	request: { params: IdParam, query: z.strictObject({ cursor: Cursor, limit: pageLimit(50, 200).optional() }) },
	responses: {
		200: json(z.object({ deliveries: z.array(DeliveryView), next_cursor: z.string().nullable() }), "A page."),
		...standardErrors,
	},
});
const replay = createRoute({
	...appKeyRoute(TAG, "post", "/v1/webhooks/{id}/deliveries/{deliveryId}/replay", "manage"),
	summary: "Send a logged delivery again now: same webhook-id and body, one attempt",
	request: { params: DeliveryParams },
	responses: {
		202: json(DeliveryView, "Queued."),
		409: json(ErrorSchema, "The endpoint is disabled."),
		...standardErrors,
	},
});

export function webhookRoutes(api: Api) {
	api.openapi(create, async (c) => {
		await assertPlanRoom(c.env, c.get("caller"), "webhook_endpoints");
		const { row, secret } = await createEndpoint(c.env, c.get("caller"), c.req.valid("json"));
		return c.json({ ...webhookView(row), secret }, 201);
	});

	api.openapi(list, async (c) => {
		const rows = await listEndpoints(c.env, c.get("caller").appId);
		return c.json({ webhooks: rows.map(webhookView) }, 200);
	});

	api.openapi(get, async (c) => {
		return c.json(webhookView(await getEndpoint(c.env, c.get("caller").appId, c.req.valid("param").id)), 200);
	});

	api.openapi(patch, async (c) => {
		const row = await updateEndpoint(c.env, c.get("caller"), c.req.valid("param").id, c.req.valid("json"));
		return c.json(webhookView(row), 200);
	});

	api.openapi(remove, async (c) => {
		await deleteEndpoint(c.env, c.get("caller"), c.req.valid("param").id);
		return c.body(null, 204);
	});

	api.openapi(rotate, async (c) => {
		const { row, secret } = await rotateSecret(c.env, c.get("caller"), c.req.valid("param").id);
		return c.json({ ...webhookView(row), secret }, 200);
	});

	api.openapi(deliveries, async (c) => {
		const { cursor, limit } = c.req.valid("query");
		const size = limit ?? 50;
		const rows = await listDeliveries(c.env, c.get("caller").appId, c.req.valid("param").id, size + 1, decodeCursor(cursor));
		const page = rows.slice(0, size);
		const last = page.at(-1);
		return c.json(
			{ deliveries: page.map(deliveryView), next_cursor: rows.length > size && last ? encodeCursor(last.id) : null },
			200,
		);
	});

	api.openapi(replay, async (c) => {
		const { id, deliveryId } = c.req.valid("param");
		const row = await replayDelivery(c.env, c.get("caller"), id, deliveryId);
		return c.json(deliveryView(row), 202);
	});
}
