import { and, eq } from "drizzle-orm";
import { db } from "../db/client.js";
import { webhookEndpoints } from "../db/schema.js";

export interface CachedEndpoint {
	id: string;
	events: readonly string[];
}

/**
 * Each app's enabled endpoints, per isolate, for a few seconds: emitting an event nobody subscribed
 * to must cost no D1 read on the send path. CRUD in this isolate drops the entry at once; other
 * isolates see a change within the TTL.
 */
const TTL_MS = 10_000;
const MAX_APPS = 1_000;
const cache = new Map<string, { at: number; endpoints: CachedEndpoint[] }>();

export async function enabledEndpoints(env: Env, appId: string): Promise<CachedEndpoint[]> {
	const now = Date.now();
	const hit = cache.get(appId);
	if (hit && now - hit.at < TTL_MS) return hit.endpoints;
	const rows = await db(env)
		.select({ id: webhookEndpoints.id, events: webhookEndpoints.events })
		.from(webhookEndpoints)
		.where(and(eq(webhookEndpoints.appId, appId), eq(webhookEndpoints.enabled, true)))
		.all();
	if (cache.size >= MAX_APPS) cache.clear();
	cache.set(appId, { at: now, endpoints: rows });
	return rows;
}

export function invalidateEndpoints(appId: string): void {
	cache.delete(appId);
}

/** True when some enabled endpoint of the app wants `type` (cheap: usually answered from the cache). */
export async function wantsEvent(env: Env, appId: string, type: string): Promise<boolean> {
	return (await enabledEndpoints(env, appId)).some((e) => e.events.includes(type));
}
