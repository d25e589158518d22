/** The app's meter (durable-objects/meter/app-meter.ts): rate limits and usage counters, one per app. */
export function meterFor(env: Env, appId: string) {
	return env.METER.get(env.METER.idFromName(appId));
}
