import type { ScheduleTimer } from "./schedule-timer.js";

export function scheduleTimerFor(env: Env, appId: string, scheduleId: string): DurableObjectStub<ScheduleTimer> {
	const ns = env.SCHEDULES as DurableObjectNamespace<ScheduleTimer>;
	return ns.get(ns.idFromName(`${appId}/${scheduleId}`));
}
