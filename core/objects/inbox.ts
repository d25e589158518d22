/** One inbox per app + user. Typed through Env, so no Durable Object class is imported here. */
export function inboxFor(env: Env, appId: string, userId: string) {
	return env.INBOX.get(env.INBOX.idFromName(`${appId}/${userId}`));
}
