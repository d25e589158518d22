import { createRoute } from "@hono/zod-openapi";
import { auditEntry } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { assignPlan, createPlan, deletePlan, getPlan, listPlans, type PlanRow, replacePlan } from "../../core/plans/store.js";
import type { Api } from "../http/context.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";
import {
	AppIdParam,
	AppPlanView,
	AssignPlanBody,
	CreatePlanBody,
	PlanIdParam,
	PlanList,
	PlanView,
	ReplacePlanBody,
} from "../schemas/plans.js";

const tags = ["Plans and quotas"];
const security = [{ adminToken: [] }];

const create = createRoute({
	method: "post",
	path: "/v1/admin/plans",
	tags,
	security,
	summary: "Define a plan: limits on MAU, messages, deliveries, request rates, objects and content size",
	request: jsonBody(CreatePlanBody),
	responses: { 201: json(PlanView, "The plan."), 409: json(PlanView, "A plan with this id exists."), ...standardErrors },
});
const list = createRoute({
	method: "get",
	path: "/v1/admin/plans",
	tags,
	security,
	summary: "Every plan, by id",
	responses: { 200: json(PlanList, "The plans."), ...standardErrors },
});
const get = createRoute({
	method: "get",
	path: "/v1/admin/plans/{planId}",
	tags,
	security,
	summary: "One plan",
	request: { params: PlanIdParam },
	responses: { 200: json(PlanView, "The plan."), ...standardErrors },
});
const replace = createRoute({
	method: "put",
	path: "/v1/admin/plans/{planId}",
	tags,
	security,
	summary: "Replace a plan's name and limits; apps on it are held to the new limits from their next request",
	request: { params: PlanIdParam, ...jsonBody(ReplacePlanBody) },
	responses: { 200: json(PlanView, "The plan."), ...standardErrors },
});
const remove = createRoute({
	method: "delete",
	path: "/v1/admin/plans/{planId}",
	tags,
	security,
	summary: "Delete a plan no app is on (409 otherwise)",
	request: { params: PlanIdParam },
	responses: { 204: { description: "Deleted." }, ...standardErrors },
});
const assign = createRoute({
	method: "put",
	path: "/v1/admin/apps/{appId}/plan",
	tags,
	security,
	summary: "Put an app on a plan (or on none, with null)",
	request: { params: AppIdParam, ...jsonBody(AssignPlanBody) },
	responses: { 200: json(AppPlanView, "The app's plan."), ...standardErrors },
});

const view = (p: PlanRow) => ({ id: p.id, name: p.name, limits: p.limits, created_at: p.createdAt, updated_at: p.updatedAt });

export function planRoutes(api: Api) {
	api.openapi(create, async (c) => c.json(view(await createPlan(db(c.env), c.req.valid("json"))), 201));
	api.openapi(list, async (c) => c.json({ plans: (await listPlans(db(c.env))).map(view) }, 200));
	api.openapi(get, async (c) => c.json(view(await getPlan(db(c.env), c.req.valid("param").planId)), 200));
	api.openapi(replace, async (c) =>
		c.json(view(await replacePlan(db(c.env), c.req.valid("param").planId, c.req.valid("json"))), 200),
	);
	api.openapi(remove, async (c) => {
		await deletePlan(db(c.env), c.req.valid("param").planId);
		return c.body(null, 204);
	});
	api.openapi(assign, async (c) => {
		const { appId } = c.req.valid("param");
		const d = db(c.env);
		const plan = await assignPlan(d, appId, c.req.valid("json").plan_id);
		await auditEntry(d, c.get("caller"), appId, "app.plan", plan?.id ?? "none");
		return c.json({ app_id: appId, plan: plan ? view(plan) : null }, 200);
	});
}
