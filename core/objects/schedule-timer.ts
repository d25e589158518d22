/** One timer per schedule: its alarm fires the next occurrence. */
export function scheduleTimerFor(env: Env, appId: string, scheduleId: string) {
	return env.SCHEDULES.get(env.SCHEDULES.idFromName(`${appId}/${scheduleId}`));
}
