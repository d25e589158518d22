import { and, eq } from "drizzle-orm";
import type { AudienceFilter } from "../../protocol/message.js";
import { db } from "../db/client.js";
import { apps, scheduleRuns, schedules, users } from "../db/schema.js";
import { AppError } from "../errors.js";
import { userProfiles } from "../fanout/deliver.js";
import { acceptMessage, type SendBody } from "../messages/accept.js";
import { scheduleTimerFor } from "../objects/schedule-timer.js";
import { loadSettings } from "../rules/settings.js";
import { localTimeGroups, nextRun, occurrenceKey, type When } from "../rules/when.js";
import { emitWebhookEvent } from "../webhooks/emit.js";
import { findSchedule, overdueSchedules } from "./store.js";

/** Recipients' zones for a local_time schedule: every zone users of the app have, plus the app default. */
export async function appZones(env: Env, appId: string): Promise<{ zones: string[]; defaultZone: string }> {
	const d = db(env);
	const [rows, app] = await Promise.all([
		d.selectDistinct({ tz: users.timezone }).from(users).where(eq(users.appId, appId)).all(),
		d.select({ settings: apps.settings }).from(apps).where(eq(apps.id, appId)).get(),
	]);
	const defaultZone = loadSettings(app?.settings).default_timezone;
	// Users without a zone count as the app default; the default only fires if such users exist.
	const zones = rows.map((r) => r.tz ?? defaultZone);
	return { zones: [...new Set(zones.length ? zones : [defaultZone])], defaultZone };
}

/** When a schedule fires first (or next, after `after`), given its recipients' zones for local_time. */
export async function computeNextRun(env: Env, appId: string, when: When, after: Date, runsSoFar: number): Promise<Date | null> {
	const zones = "local_time" in when ? (await appZones(env, appId)).zones : undefined;
	return nextRun(when, after, runsSoFar, zones ? { zones } : {});
}

/** Sets (or clears) the schedule's Durable Object alarm: the precise trigger. */
export async function arm(env: Env, appId: string, id: string, nextRunAt: string | null) {
	await scheduleTimerFor(env, appId, id).arm(appId, id, nextRunAt ? Date.parse(nextRunAt) : null);
}

/**
 * Fires the schedule's due occurrence, at most once: the occurrence's idempotency key (schedule id +
 * occurrence time) makes a racing alarm and cron, a retried alarm, or a restart send one message.
 * Returns the next occurrence (or null when the schedule is done or not active).
 */
export async function fireDue(env: Env, appId: string, id: string, now = Date.now()): Promise<Date | null> {
	const d = db(env);
	const row = await findSchedule(d, appId, id);
	if (row?.status !== "active" || !row.nextRunAt) return null;
	const occurrence = new Date(row.nextRunAt);
	if (occurrence.getTime() > now) return occurrence; // early wake-up: re-arm for the real time
	const occIso = occurrence.toISOString();
	const when = row.when;
	const already = await d
		.select({ o: scheduleRuns.occurrence })
		.from(scheduleRuns)
		.where(and(eq(scheduleRuns.appId, appId), eq(scheduleRuns.scheduleId, id), eq(scheduleRuns.occurrence, occIso)))
		.get();
	if (!already) {
		const late = now - occurrence.getTime() > row.maxLatenessSeconds * 1000;
		let messageId: string | null = null;
		if (!late) {
			const body = await occurrenceBody(env, appId, id, row.message, when, occurrence);
			if (body) {
				try {
					messageId = (await acceptMessage(env, appId, body, { source: { kind: "schedule", id } })).id;
				} catch (err) {
					// A message that can no longer be accepted (e.g. a credential removed) is recorded, not retried forever.
					if (!(err instanceof AppError)) throw err;
					console.error(`schedule ${id} occurrence ${occIso}: ${err.code} ${err.message}`);
				}
			}
		}
		// An occurrence with nobody to send to (a zone group left empty) leaves no run behind.
		if (late || messageId) {
			const run = await d
				.insert(scheduleRuns)
				.values({
					appId,
					scheduleId: id,
					occurrence: occIso,
					messageId,
					outcome: late ? "missed" : "sent",
					firedAt: new Date(now).toISOString(),
				})
				.onConflictDoNothing()
				.run();
			// Only the caller that recorded the run tells the webhooks.
			if (run.meta.changes > 0) {
				const data = { schedule_id: id, occurrence: occIso, ...(messageId ? { message_id: messageId } : {}) };
				await emitWebhookEvent(env, appId, late ? "schedule.missed" : "schedule.fired", data);
			}
		}
	}
	const next = await computeNextRun(env, appId, when, occurrence, row.runCount + 1);
	// Only the caller that moves next_run_at off this occurrence counts the run (alarm and cron may race).
	await d
		.update(schedules)
		.set({
			nextRunAt: next ? next.toISOString() : null,
			runCount: row.runCount + 1,
			status: next ? "active" : "done",
			updatedAt: new Date(now).toISOString(),
		})
		.where(and(eq(schedules.appId, appId), eq(schedules.id, id), eq(schedules.nextRunAt, occIso)));
	return next;
}

/**
 * The message of one occurrence: its idempotency key, and for local_time only the recipients whose
 * zone reads the wall time at this instant (users without a zone count as the app default).
 */
async function occurrenceBody(
	env: Env,
	appId: string,
	scheduleId: string,
	body: SendBody,
	when: When,
	occurrence: Date,
): Promise<SendBody | undefined> {
	const options: NonNullable<SendBody["options"]> = {
		...(body.options ?? {}),
		idempotency_key: occurrenceKey(scheduleId, occurrence),
	};
	// optimal: every inbox gets it now and holds it until that user's best hour.
	if ("optimal" in when) options.send_at_optimal = when.optimal;
	if (!("local_time" in when)) return { ...body, options };
	const { zones, defaultZone } = await appZones(env, appId);
	const group = localTimeGroups(when.local_time, zones).find((g) => g.at.getTime() === occurrence.getTime());
	if (!group) return undefined;
	const zoneFilter: AudienceFilter = group.zones.includes(defaultZone)
		? {
				or: [
					{ attr: "timezone", op: "in", value: group.zones },
					{ attr: "timezone", op: "exists", value: false },
				],
			}
		: { attr: "timezone", op: "in", value: group.zones };
	const audience = body.audience;
	if ("users" in audience) {
		const inZone = await usersInZones(env, appId, audience.users, group.zones, group.zones.includes(defaultZone));
		if (inZone.length === 0) return undefined;
		return { ...body, audience: { users: inZone }, options };
	}
	const filter = "filter" in audience && audience.filter ? { and: [audience.filter, zoneFilter] } : zoneFilter;
	return { ...body, audience: { ...audience, filter } as SendBody["audience"], options };
}

async function usersInZones(env: Env, appId: string, ids: string[], zones: string[], includeUnset: boolean) {
	const profiles = await userProfiles(env, appId, ids);
	return ids.filter((id) => {
		const tz = profiles.get(id)?.timezone ?? null;
		return tz ? zones.includes(tz) : includeUnset;
	});
}

/** The minute cron's safety net: anything overdue (its alarm lost or late) fires now, once. */
export async function sweepOverdue(env: Env, now = Date.now()) {
	const due = await overdueSchedules(db(env), new Date(now - 5_000).toISOString(), 200);
	let fired = 0;
	for (const s of due) {
		const next = await fireDue(env, s.appId, s.id, now);
		await arm(env, s.appId, s.id, next ? next.toISOString() : null);
		fired++;
	}
	return fired;
}
