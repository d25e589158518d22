import type { UserInbox } from "./user-inbox.js";

/** One inbox per app + user. */
export function inboxFor(env: Env, appId: string, userId: string): DurableObjectStub<UserInbox> {
	const ns = env.INBOX as DurableObjectNamespace<UserInbox>;
	return ns.get(ns.idFromName(`${appId}/${userId}`));
}
