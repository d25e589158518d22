import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { randomId } from "../../core/auth/crypto.js";
import { assertRoomFor } from "../../core/db/app-limits.js";
import { auditEntry, nowIso } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { templates } from "../../core/db/schema.js";
import { findTemplate } from "../../core/messages/template-store.js";
import { assertPlanRoom } from "../../core/plans/quota.js";
import { extractVariables, TemplateBody } from "../../core/rules/templates.js";
import type { Api } from "../http/context.js";
import { notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { Cursor, decodeCursor, encodeCursor, json, jsonBody, pageLimit, standardErrors } from "../schemas/common.js";

const TemplateView = z
	.object({
		id: z.string(),
		name: z.string(),
		description: z.string().optional(),
		default_locale: z.string().optional(),
		variants: z.record(z.string(), z.record(z.string(), z.unknown())),
		variables: z.array(z.string()).openapi({ description: "Every {{…}} path the template uses." }),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("Template");

const IdParam = z.object({ id: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, "not a template id") });
type Row = typeof templates.$inferSelect;

function view(row: Row) {
	const def = row.definition;
	return { id: row.id, ...def, variables: extractVariables(def), created_at: row.createdAt, updated_at: row.updatedAt };
}

const create = createRoute({
	...appKeyRoute("Templates", "post", "/v1/templates", "manage"),
	summary: "Create a template: per-locale variants with {{user.…}}, {{event.…}} and {{vars.…}} variables",
	request: jsonBody(TemplateBody),
	responses: { 201: json(TemplateView, "The template."), ...standardErrors },
});
const list = createRoute({
	...appKeyRoute("Templates", "get", "/v1/templates", "read"),
	summary: "Templates by id",
	request: { query: z.strictObject({ cursor: Cursor, limit: pageLimit(50, 200).optional() }) },
	responses: {
		200: json(z.object({ templates: z.array(TemplateView), next_cursor: z.string().nullable() }), "A page."),
		...standardErrors,
	},
});
const get = createRoute({
	...appKeyRoute("Templates", "get", "/v1/templates/{id}", "read"),
	summary: "A template",
	request: { params: IdParam },
	responses: { 200: json(TemplateView, "The template."), ...standardErrors },
});
const replace = createRoute({
	...appKeyRoute("Templates", "patch", "/v1/templates/{id}", "manage"),
	summary: "Replace a template's definition (messages already accepted keep the version they were sent with)",
	request: { params: IdParam, ...jsonBody(TemplateBody) },
	responses: { 200: json(TemplateView, "The template."), ...standardErrors },
});
const remove = createRoute({
	...appKeyRoute("Templates", "delete", "/v1/templates/{id}", "manage"),
	summary: "Delete a template",
	request: { params: IdParam },
	responses: { 204: { description: "Deleted." }, ...standardErrors },
});

export function templateRoutes(api: Api) {
	api.openapi(create, async (c) => {
		const caller = c.get("caller");
		const d = db(c.env);
		const now = nowIso();
		await assertPlanRoom(c.env, caller, "templates", await assertRoomFor(d, caller.appId, "templates"));
		const id = randomId("tpl");
		const row = {
			appId: caller.appId,
			id,
			name: c.req.valid("json").name,
			definition: c.req.valid("json"),
			createdAt: now,
			updatedAt: now,
		};
		await d.batch([d.insert(templates).values(row), auditEntry(d, caller, caller.appId, "template.create", id)]);
		return c.json(view(row), 201);
	});

	api.openapi(list, async (c) => {
		const { cursor, limit } = c.req.valid("query");
		const size = limit ?? 50;
		const after = decodeCursor(cursor);
		const rows = await db(c.env)
			.select()
			.from(templates)
			.where(and(eq(templates.appId, c.get("caller").appId), after ? gt(templates.id, after) : undefined))
			.orderBy(asc(templates.id))
			.limit(size + 1)
			.all();
		const page = rows.slice(0, size);
		const last = page.at(-1);
		return c.json({ templates: page.map(view), next_cursor: rows.length > size && last ? encodeCursor(last.id) : null }, 200);
	});

	api.openapi(get, async (c) => {
		const row = await findTemplate(c.env, c.get("caller").appId, c.req.valid("param").id);
		if (!row) throw notFound("template");
		return c.json(view(row), 200);
	});

	api.openapi(replace, async (c) => {
		const caller = c.get("caller");
		const { id } = c.req.valid("param");
		const body = c.req.valid("json");
		const d = db(c.env);
		const row = await findTemplate(c.env, caller.appId, id);
		if (!row) throw notFound("template");
		const updated = { ...row, name: body.name, definition: body, updatedAt: nowIso() };
		await d.batch([
			d
				.update(templates)
				.set({ name: updated.name, definition: updated.definition, updatedAt: updated.updatedAt })
				.where(and(eq(templates.appId, caller.appId), eq(templates.id, id))),
			auditEntry(d, caller, caller.appId, "template.update", id),
		]);
		return c.json(view(updated), 200);
	});

	api.openapi(remove, async (c) => {
		const caller = c.get("caller");
		const { id } = c.req.valid("param");
		const d = db(c.env);
		if (!(await findTemplate(c.env, caller.appId, id))) throw notFound("template");
		await d.batch([
			d.delete(templates).where(and(eq(templates.appId, caller.appId), eq(templates.id, id))),
			auditEntry(d, caller, caller.appId, "template.delete", id),
		]);
		return c.body(null, 204);
	});
}
