import { DurableObject } from "cloudflare:workers";
import { fireDue } from "../../core/schedules/runner.js";

/**
 * One per schedule: its alarm is the precise trigger (within a second of the occurrence), far finer
 * than the minute cron, which only sweeps what is overdue. A failing fire throws, and the runtime
 * retries the alarm with backoff; the occurrence's idempotency key keeps retries from sending twice.
 */
export class ScheduleTimer extends DurableObject<Env> {
	async arm(appId: string, scheduleId: string, at: number | null): Promise<void> {
		await this.ctx.storage.put({ appId, scheduleId });
		if (at === null) await this.ctx.storage.deleteAlarm();
		else await this.ctx.storage.setAlarm(at);
	}

	override async alarm(): Promise<void> {
		const appId = await this.ctx.storage.get<string>("appId");
		const scheduleId = await this.ctx.storage.get<string>("scheduleId");
		if (!appId || !scheduleId) return;
		const next = await fireDue(this.env, appId, scheduleId);
		if (next) await this.ctx.storage.setAlarm(next.getTime());
	}
}
