import { db } from "../db/client.js";
import type { PlanLimits } from "./limits.js";
import { planOfApp } from "./store.js";

/**
 * An app's plan limits for work that has no app key to read them with (a WebSocket connect): kept
 * per isolate this long, so a connect storm reads D1 once per app, and a plan change reaches connects
 * within 30 seconds.
 */
const TTL_MS = 30_000;
const MAX_APPS = 1_000;
const cache = new Map<string, { limits: PlanLimits | undefined; until: number }>();

export async function cachedPlanLimits(env: Env, appId: string): Promise<PlanLimits | undefined> {
	const now = Date.now();
	const hit = cache.get(appId);
	if (hit && hit.until > now) return hit.limits;
	const limits = (await planOfApp(db(env), appId))?.limits;
	if (cache.size >= MAX_APPS) cache.clear();
	cache.set(appId, { limits, until: now + TTL_MS });
	return limits;
}
