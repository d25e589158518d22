/** One automation timer per app + user. */
export function automationTimerFor(env: Env, appId: string, userId: string) {
	return env.AUTOMATIONS.get(env.AUTOMATIONS.idFromName(`${appId}/${userId}`));
}
