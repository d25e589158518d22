import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { randomId } from "../../core/auth/crypto.js";
import { intakeEvents } from "../../core/automations/engine.js";
import {
	type AutomationDefinition,
	automationView,
	findAutomation,
	invalidateAutomations,
	listAutomations,
} from "../../core/automations/store.js";
import { assertRoomFor } from "../../core/db/app-limits.js";
import { auditEntry, nowIso } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { automations } from "../../core/db/schema.js";
import { assertPlanRoom } from "../../core/plans/quota.js";
import { isValidId } from "../../protocol/ids.js";
import type { Api, HonoEnv } from "../http/context.js";
import { AppError, notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import {
	AutomationIdParam,
	AutomationListQuery,
	AutomationView,
	CreateAutomationBody,
	EventsAccepted,
	EventsBody,
	PatchAutomationBody,
} from "../schemas/automations.js";
import { decodeCursor, encodeCursor, json, jsonBody, standardErrors } from "../schemas/common.js";

const events = createRoute({
	...appKeyRoute("Events", "post", "/v1/events", "send"),
	summary: "Record what users did: one event or a batch of up to 1,000; matching automations run",
	description:
		"Each event gets an id and is matched against the app's enabled automations (`trigger.event` and `trigger.where` " +
		"on its properties). Automation changes reach every Worker isolate within 30 seconds. " +
		"An immediate automation is sent before the answer; a delayed one waits in the user's timer, where any of its " +
		"`cancel_on` events that happen before it is due cancel it. Events are not stored beyond that.",
	request: jsonBody(EventsBody),
	responses: { 202: json(EventsAccepted, "Recorded; `triggered` automation runs started."), ...standardErrors },
});
const create = createRoute({
	...appKeyRoute("Automations", "post", "/v1/automations", "manage"),
	summary: "Wire a push to an event: send (after an optional delay) to the user whose event triggered it",
	request: jsonBody(CreateAutomationBody),
	responses: { 201: json(AutomationView, "The automation."), ...standardErrors },
});
const list = createRoute({
	...appKeyRoute("Automations", "get", "/v1/automations", "read"),
	summary: "Automations by id, optionally only enabled or disabled ones",
	request: { query: AutomationListQuery },
	responses: {
		200: json(z.object({ automations: z.array(AutomationView), next_cursor: z.string().nullable() }), "A page."),
		...standardErrors,
	},
});
const get = createRoute({
	...appKeyRoute("Automations", "get", "/v1/automations/{id}", "read"),
	summary: "An automation",
	request: { params: AutomationIdParam },
	responses: { 200: json(AutomationView, "The automation."), ...standardErrors },
});
const patch = createRoute({
	...appKeyRoute("Automations", "patch", "/v1/automations/{id}", "manage"),
	summary: "Change an automation (sends already waiting keep the message and due time they were started with)",
	request: { params: AutomationIdParam, ...jsonBody(PatchAutomationBody) },
	responses: { 200: json(AutomationView, "The automation."), ...standardErrors },
});
const remove = createRoute({
	...appKeyRoute("Automations", "delete", "/v1/automations/{id}", "manage"),
	summary: "Delete an automation; its waiting sends are dropped when they come due",
	request: { params: AutomationIdParam },
	responses: { 204: { description: "Deleted." }, ...standardErrors },
});

async function loadOr404(c: Context<HonoEnv>, id: string) {
	const row = await findAutomation(db(c.env), c.get("caller").appId, id);
	if (!row) throw notFound("automation");
	return row;
}

/** Drops unset optional fields so the stored definition stays minimal. */
function definition(d: AutomationDefinition): AutomationDefinition {
	const out: AutomationDefinition = { trigger: d.trigger, message: d.message };
	if (d.delay_seconds) out.delay_seconds = d.delay_seconds;
	if (d.cancel_on?.length) out.cancel_on = d.cancel_on;
	if (d.once_per_user_within_seconds !== undefined) out.once_per_user_within_seconds = d.once_per_user_within_seconds;
	return out;
}

export function automationRoutes(api: Api) {
	api.openapi(events, async (c) => {
		const body = c.req.valid("json");
		const inputs = body.events ?? [
			{
				...(body.id === undefined ? {} : { id: body.id }),
				user_id: body.user_id as string,
				name: body.name as string,
				...(body.properties === undefined ? {} : { properties: body.properties }),
				...(body.time === undefined ? {} : { time: body.time }),
			},
		];
		// Idempotency-Key names the batch: its events without an id of their own get `<key>:<index>`,
		// so a retried batch changes nothing, like events that carry ids.
		const batchKey = c.req.header("idempotency-key");
		if (batchKey !== undefined) {
			if (!isValidId(batchKey) || batchKey.length > 100) {
				throw new AppError("invalid_request", "Idempotency-Key must be 1–100 characters of [A-Za-z0-9_.:@-].", [
					{ path: "Idempotency-Key", message: "invalid key" },
				]);
			}
			inputs.forEach((e, i) => {
				if (e.id === undefined) e.id = `${batchKey}:${i}`;
			});
		}
		const r = await intakeEvents(c.env, c.get("caller").appId, inputs);
		return c.json({ accepted: r.accepted, repeated: r.repeated, triggered: r.triggered, event_ids: r.eventIds }, 202);
	});

	api.openapi(create, async (c) => {
		const body = c.req.valid("json");
		const caller = c.get("caller");
		const d = db(c.env);
		await assertPlanRoom(c.env, caller, "automations", await assertRoomFor(d, caller.appId, "automations"));
		const id = randomId("aut");
		const now = nowIso();
		await d.batch([
			d.insert(automations).values({
				appId: caller.appId,
				id,
				name: body.name,
				triggerEvent: body.trigger.event,
				definition: definition(body),
				enabled: body.enabled ?? true,
				createdAt: now,
				updatedAt: now,
			}),
			auditEntry(d, caller, caller.appId, "automation.create", id),
		]);
		invalidateAutomations(caller.appId);
		return c.json(automationView(await loadOr404(c, id)), 201);
	});

	api.openapi(list, async (c) => {
		const { enabled, cursor, limit } = c.req.valid("query");
		const size = limit ?? 50;
		const flag = enabled === undefined ? undefined : enabled === "true";
		const rows = await listAutomations(db(c.env), c.get("caller").appId, flag, decodeCursor(cursor), size);
		const page = rows.slice(0, size);
		const last = page.at(-1);
		return c.json(
			{ automations: page.map(automationView), next_cursor: rows.length > size && last ? encodeCursor(last.id) : null },
			200,
		);
	});

	api.openapi(get, async (c) => {
		const { id } = c.req.valid("param");
		return c.json(automationView(await loadOr404(c, id)), 200);
	});

	api.openapi(patch, async (c) => {
		const { id } = c.req.valid("param");
		const body = c.req.valid("json");
		const caller = c.get("caller");
		const row = await loadOr404(c, id);
		const old = row.definition;
		const pick = <T>(v: T | null | undefined, prev: T | undefined): T | undefined =>
			v === null ? undefined : v === undefined ? prev : v;
		const next = definition({
			trigger: body.trigger ?? old.trigger,
			message: body.message ?? old.message,
			delay_seconds: pick(body.delay_seconds, old.delay_seconds),
			cancel_on: pick(body.cancel_on, old.cancel_on),
			once_per_user_within_seconds: pick(body.once_per_user_within_seconds, old.once_per_user_within_seconds),
		});
		const d = db(c.env);
		await d.batch([
			d
				.update(automations)
				.set({
					name: body.name ?? row.name,
					triggerEvent: next.trigger.event,
					definition: next,
					enabled: body.enabled ?? row.enabled,
					updatedAt: nowIso(),
				})
				.where(and(eq(automations.appId, caller.appId), eq(automations.id, id))),
			auditEntry(d, caller, caller.appId, "automation.update", id),
		]);
		invalidateAutomations(caller.appId);
		return c.json(automationView(await loadOr404(c, id)), 200);
	});

	api.openapi(remove, async (c) => {
		const { id } = c.req.valid("param");
		const caller = c.get("caller");
		await loadOr404(c, id);
		const d = db(c.env);
		await d.batch([
			d.delete(automations).where(and(eq(automations.appId, caller.appId), eq(automations.id, id))),
			auditEntry(d, caller, caller.appId, "automation.delete", id),
		]);
		invalidateAutomations(caller.appId);
		return c.body(null, 204);
	});
}
