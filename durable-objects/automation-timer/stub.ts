import type { AutomationTimer } from "./automation-timer.js";

/** One automation timer per app + user. */
export function automationTimerFor(env: Env, appId: string, userId: string): DurableObjectStub<AutomationTimer> {
	const ns = env.AUTOMATIONS as DurableObjectNamespace<AutomationTimer>;
	return ns.get(ns.idFromName(`${appId}/${userId}`));
}
