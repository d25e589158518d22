import { and, asc, desc, eq, gt, lte } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { scheduleRuns, schedules } from "../db/schema.js";

export type ScheduleRow = typeof schedules.$inferSelect;

export function findSchedule(d: Db, appId: string, id: string) {
	return d
		.select()
		.from(schedules)
		.where(and(eq(schedules.appId, appId), eq(schedules.id, id)))
		.get();
}

export function recentRuns(d: Db, appId: string, id: string, limit = 100) {
	return d
		.select()
		.from(scheduleRuns)
		.where(and(eq(scheduleRuns.appId, appId), eq(scheduleRuns.scheduleId, id)))
		.orderBy(desc(scheduleRuns.occurrence))
		.limit(limit)
		.all();
}

export function overdueSchedules(d: Db, beforeIso: string, limit: number) {
	return d
		.select({ appId: schedules.appId, id: schedules.id })
		.from(schedules)
		.where(and(eq(schedules.status, "active"), lte(schedules.nextRunAt, beforeIso)))
		.orderBy(asc(schedules.nextRunAt))
		.limit(limit)
		.all();
}

export function listSchedules(
	d: Db,
	appId: string,
	status: ScheduleRow["status"] | undefined,
	after: string | undefined,
	limit: number,
) {
	return d
		.select()
		.from(schedules)
		.where(
			and(
				eq(schedules.appId, appId),
				status ? eq(schedules.status, status) : undefined,
				after ? gt(schedules.id, after) : undefined,
			),
		)
		.orderBy(asc(schedules.id))
		.limit(limit + 1)
		.all();
}

export async function scheduleView(d: Db, row: ScheduleRow) {
	const runs = await recentRuns(d, row.appId, row.id);
	return {
		id: row.id,
		status: row.status,
		message: row.message,
		when: row.when,
		max_lateness_seconds: row.maxLatenessSeconds,
		next_run_at: row.nextRunAt,
		run_count: row.runCount,
		runs: runs.map((r) => ({
			at: r.occurrence,
			message_id: r.messageId,
			outcome: r.outcome as "sent" | "missed",
			fired_at: r.firedAt,
		})),
		created_at: row.createdAt,
		updated_at: row.updatedAt,
	};
}
