import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { randomId } from "../../core/auth/crypto.js";
import { assertRoomFor } from "../../core/db/app-limits.js";
import { auditEntry, nowIso } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { schedules } from "../../core/db/schema.js";
import { assertPlanRoom } from "../../core/plans/quota.js";
import { parseRfc3339 } from "../../core/rules/time.js";
import type { When } from "../../core/rules/when.js";
import { arm, computeNextRun } from "../../core/schedules/runner.js";
import { findSchedule, listSchedules, scheduleView } from "../../core/schedules/store.js";
import type { Api, HonoEnv } from "../http/context.js";
import { AppError, notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { decodeCursor, encodeCursor, json, jsonBody, standardErrors } from "../schemas/common.js";
import {
	CreateScheduleBody,
	DEFAULT_MAX_LATENESS_SECONDS,
	PatchScheduleBody,
	ScheduleIdParam,
	ScheduleListQuery,
	ScheduleView,
} from "../schemas/schedules.js";

/** An `at` this far in the past is a mistake, not a late occurrence. */
const PAST_TOLERANCE_MS = 60_000;

const create = createRoute({
	...appKeyRoute("Schedules", "post", "/v1/schedules", "manage"),
	summary: "Plan a push: at an instant, on a cron in a time zone, at a local time per recipient, or at each one's best hour",
	request: jsonBody(CreateScheduleBody),
	responses: { 201: json(ScheduleView, "The schedule."), ...standardErrors },
});
const list = createRoute({
	...appKeyRoute("Schedules", "get", "/v1/schedules", "read"),
	summary: "Schedules by id, optionally by status",
	request: { query: ScheduleListQuery },
	responses: {
		200: json(z.object({ schedules: z.array(ScheduleView), next_cursor: z.string().nullable() }), "A page."),
		...standardErrors,
	},
});
const get = createRoute({
	...appKeyRoute("Schedules", "get", "/v1/schedules/{id}", "read"),
	summary: "A schedule with its next run and its runs (each with the message it produced)",
	request: { params: ScheduleIdParam },
	responses: { 200: json(ScheduleView, "The schedule."), ...standardErrors },
});
const patch = createRoute({
	...appKeyRoute("Schedules", "patch", "/v1/schedules/{id}", "manage"),
	summary: "Change a schedule's message, timing or lateness bound",
	request: { params: ScheduleIdParam, ...jsonBody(PatchScheduleBody) },
	responses: { 200: json(ScheduleView, "The schedule."), ...standardErrors },
});
const cancel = createRoute({
	...appKeyRoute("Schedules", "delete", "/v1/schedules/{id}", "manage"),
	summary: "Cancel a schedule (its runs stay visible)",
	request: { params: ScheduleIdParam },
	responses: { 204: { description: "Canceled." }, ...standardErrors },
});
const pause = createRoute({
	...appKeyRoute("Schedules", "post", "/v1/schedules/{id}/pause", "manage"),
	summary: "Pause: nothing fires until resume",
	request: { params: ScheduleIdParam },
	responses: { 200: json(ScheduleView, "The schedule."), ...standardErrors },
});
const resume = createRoute({
	...appKeyRoute("Schedules", "post", "/v1/schedules/{id}/resume", "manage"),
	summary: "Resume: the next occurrence from now on fires (occurrences while paused are skipped)",
	request: { params: ScheduleIdParam },
	responses: { 200: json(ScheduleView, "The schedule."), ...standardErrors },
});

function checkAt(when: When) {
	if ("at" in when) {
		const at = parseRfc3339(when.at);
		if (at && at.getTime() < Date.now() - PAST_TOLERANCE_MS) {
			throw new AppError("invalid_request", "when.at is in the past.", [{ path: "when.at", message: "in the past" }]);
		}
	}
}

async function loadOr404(c: Context<HonoEnv>, id: string) {
	const row = await findSchedule(db(c.env), c.get("caller").appId, id);
	if (!row) throw notFound("schedule");
	return row;
}

export function scheduleRoutes(api: Api) {
	api.openapi(create, async (c) => {
		const body = c.req.valid("json");
		const caller = c.get("caller");
		checkAt(body.when);
		const d = db(c.env);
		await assertPlanRoom(c.env, caller, "schedules", await assertRoomFor(d, caller.appId, "schedules"));
		const now = new Date();
		const id = randomId("sch");
		const next = await computeNextRun(c.env, caller.appId, body.when, now, 0);
		const nextRunAt = next ? next.toISOString() : null;
		await d.batch([
			d.insert(schedules).values({
				appId: caller.appId,
				id,
				message: body.message,
				when: body.when,
				status: next ? "active" : "done",
				maxLatenessSeconds: body.max_lateness_seconds ?? DEFAULT_MAX_LATENESS_SECONDS,
				nextRunAt,
				createdAt: now.toISOString(),
				updatedAt: now.toISOString(),
			}),
			auditEntry(d, caller, caller.appId, "schedule.create", id),
		]);
		await arm(c.env, caller.appId, id, nextRunAt);
		return c.json(await scheduleView(d, await loadOr404(c, id)), 201);
	});

	api.openapi(list, async (c) => {
		const { status, cursor, limit } = c.req.valid("query");
		const d = db(c.env);
		const size = limit ?? 50;
		const rows = await listSchedules(d, c.get("caller").appId, status, decodeCursor(cursor), size);
		const page = rows.slice(0, size);
		const views = await Promise.all(page.map((r) => scheduleView(d, r)));
		const last = page.at(-1);
		return c.json({ schedules: views, next_cursor: rows.length > size && last ? encodeCursor(last.id) : null }, 200);
	});

	api.openapi(get, async (c) => {
		const { id } = c.req.valid("param");
		return c.json(await scheduleView(db(c.env), await loadOr404(c, id)), 200);
	});

	api.openapi(patch, async (c) => {
		const { id } = c.req.valid("param");
		const body = c.req.valid("json");
		const caller = c.get("caller");
		const row = await loadOr404(c, id);
		if (row.status === "canceled" || row.status === "done") {
			throw new AppError("conflict", `A ${row.status} schedule cannot change.`);
		}
		if (body.when) checkAt(body.when);
		const when = body.when ?? row.when;
		const d = db(c.env);
		let nextRunAt = row.nextRunAt;
		if (body.when) {
			const next = await computeNextRun(c.env, caller.appId, when, new Date(), 0);
			nextRunAt = next ? next.toISOString() : null;
		}
		await d
			.update(schedules)
			.set({
				...(body.message ? { message: body.message } : {}),
				...(body.when ? { when: body.when, nextRunAt } : {}),
				...(body.max_lateness_seconds !== undefined ? { maxLatenessSeconds: body.max_lateness_seconds } : {}),
				updatedAt: nowIso(),
			})
			.where(and(eq(schedules.appId, caller.appId), eq(schedules.id, id)));
		if (row.status === "active") await arm(c.env, caller.appId, id, nextRunAt);
		return c.json(await scheduleView(d, await loadOr404(c, id)), 200);
	});

	api.openapi(cancel, async (c) => {
		const { id } = c.req.valid("param");
		const caller = c.get("caller");
		await loadOr404(c, id);
		const d = db(c.env);
		await d.batch([
			d
				.update(schedules)
				.set({ status: "canceled", nextRunAt: null, updatedAt: nowIso() })
				.where(and(eq(schedules.appId, caller.appId), eq(schedules.id, id))),
			auditEntry(d, caller, caller.appId, "schedule.cancel", id),
		]);
		await arm(c.env, caller.appId, id, null);
		return c.body(null, 204);
	});

	api.openapi(pause, async (c) => {
		const { id } = c.req.valid("param");
		const caller = c.get("caller");
		const row = await loadOr404(c, id);
		if (row.status !== "active" && row.status !== "paused")
			throw new AppError("conflict", `A ${row.status} schedule cannot pause.`);
		const d = db(c.env);
		await d
			.update(schedules)
			.set({ status: "paused", updatedAt: nowIso() })
			.where(and(eq(schedules.appId, caller.appId), eq(schedules.id, id)));
		await arm(c.env, caller.appId, id, null);
		return c.json(await scheduleView(d, await loadOr404(c, id)), 200);
	});

	api.openapi(resume, async (c) => {
		const { id } = c.req.valid("param");
		const caller = c.get("caller");
		const row = await loadOr404(c, id);
		if (row.status !== "paused" && row.status !== "active")
			throw new AppError("conflict", `A ${row.status} schedule cannot resume.`);
		const d = db(c.env);
		const when = row.when;
		// A one-off whose time passed while paused still fires (late); recurring ones continue from now.
		const next =
			"at" in when || "optimal" in when
				? row.nextRunAt
					? new Date(row.nextRunAt)
					: null
				: await computeNextRun(c.env, caller.appId, when, new Date(), row.runCount);
		const nextRunAt = next ? next.toISOString() : null;
		await d
			.update(schedules)
			.set({ status: next ? "active" : "done", nextRunAt, updatedAt: nowIso() })
			.where(and(eq(schedules.appId, caller.appId), eq(schedules.id, id)));
		await arm(c.env, caller.appId, id, nextRunAt);
		return c.json(await scheduleView(d, await loadOr404(c, id)), 200);
	});
}
