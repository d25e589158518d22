import { and, asc, eq, gt } from "drizzle-orm";
import type { AutomationDefinition } from "../automations/schema.js";
import type { Db } from "../db/client.js";
import { automations } from "../db/schema.js";

export type { AutomationDefinition, AutomationMessageBody } from "../automations/schema.js";

export type AutomationRow = typeof automations.$inferSelect;

export interface Automation extends AutomationDefinition {
	id: string;
}

export function parseAutomation(row: AutomationRow): Automation {
	return { id: row.id, ...row.definition };
}

export function findAutomation(d: Db, appId: string, id: string) {
	return d
		.select()
		.from(automations)
		.where(and(eq(automations.appId, appId), eq(automations.id, id)))
		.get();
}

export function listAutomations(d: Db, appId: string, enabled: boolean | undefined, after: string | undefined, limit: number) {
	return d
		.select()
		.from(automations)
		.where(
			and(
				eq(automations.appId, appId),
				enabled === undefined ? undefined : eq(automations.enabled, enabled),
				after ? gt(automations.id, after) : undefined,
			),
		)
		.orderBy(asc(automations.id))
		.limit(limit + 1)
		.all();
}

export function automationView(row: AutomationRow) {
	const def = row.definition;
	return {
		id: row.id,
		name: row.name,
		trigger: def.trigger,
		delay_seconds: def.delay_seconds ?? 0,
		cancel_on: def.cancel_on ?? [],
		message: def.message,
		once_per_user_within_seconds: def.once_per_user_within_seconds ?? null,
		enabled: row.enabled,
		created_at: row.createdAt,
		updated_at: row.updatedAt,
	};
}

// ─── The isolate's cache of enabled automations ─────────────────────────────────────────────────

/**
 * How long an isolate trusts its copy of an app's enabled automations. Staleness bound: a write
 * is seen at once by the isolate that made it (it drops its copy) and by every other isolate within
 * `CACHE_TTL_MS`. So for up to 30 s after a create / enable / edit, another isolate may still match
 * events against the old set (a new automation misses those events; an edited trigger or where uses
 * the old one). A disabled or deleted automation may still be *triggered* in that window, but a
 * delayed send never fires for it: the timer re-reads the automation from D1 when the send is due.
 */
export const CACHE_TTL_MS = 30_000;
const MAX_CACHED_APPS = 2000;
/**
 * Memory the cache may hold in one isolate (128 MB in all), counted as the JSON of the definitions.
 * An app whose enabled automations are larger than one entry's share is served uncached (one D1
 * read per events call), so one app can neither crowd out the others nor the isolate.
 */
export const MAX_CACHE_BYTES = 16 * 1024 * 1024;
export const MAX_ENTRY_BYTES = 4 * 1024 * 1024;

export interface AppAutomations {
	byEvent: Map<string, Automation[]>;
	/** Every event name that any enabled automation of the app lists in `cancel_on`. */
	cancelNames: Set<string>;
	loadedAt: number;
	/** The JSON size of its definitions: what it weighs in the cache. */
	bytes: number;
}

const cache = new Map<string, AppAutomations>();
let cachedBytes = 0;

/** What the cache holds now (tests and diagnostics). */
export function automationCacheStats(): { apps: number; bytes: number } {
	return { apps: cache.size, bytes: cachedBytes };
}

function drop(appId: string) {
	const entry = cache.get(appId);
	if (!entry) return;
	cache.delete(appId);
	cachedBytes -= entry.bytes;
}
const loading = new Map<string, Promise<AppAutomations>>();

/** The app's enabled automations, from this isolate's cache (one D1 query per app per 30 s). */
export async function automationsFor(d: Db, appId: string, now = Date.now()): Promise<AppAutomations> {
	const hit = cache.get(appId);
	if (hit && now - hit.loadedAt < CACHE_TTL_MS) return hit;
	let pending = loading.get(appId);
	if (!pending) {
		pending = load(d, appId, now).finally(() => loading.delete(appId));
		loading.set(appId, pending);
	}
	return pending;
}

async function load(d: Db, appId: string, now: number): Promise<AppAutomations> {
	const rows = await d
		.select()
		.from(automations)
		.where(and(eq(automations.appId, appId), eq(automations.enabled, true)))
		.all();
	const byEvent = new Map<string, Automation[]>();
	const cancelNames = new Set<string>();
	let bytes = 0;
	for (const row of rows) {
		bytes += JSON.stringify(row.definition).length;
		const a = parseAutomation(row);
		const list = byEvent.get(a.trigger.event) ?? [];
		list.push(a);
		byEvent.set(a.trigger.event, list);
		for (const n of a.cancel_on ?? []) cancelNames.add(n);
	}
	const entry = { byEvent, cancelNames, loadedAt: now, bytes };
	drop(appId);
	// Too big to keep, or a write during the load invalidated it: serve it, do not cache it.
	if (bytes > MAX_ENTRY_BYTES || invalidatedSince(appId, now)) return entry;
	// Evict the oldest insertions (Map keeps insertion order) until it fits.
	while (cache.size > 0 && (cache.size >= MAX_CACHED_APPS || cachedBytes + bytes > MAX_CACHE_BYTES)) {
		const oldest = cache.keys().next().value;
		if (oldest === undefined) break;
		drop(oldest);
	}
	cache.set(appId, entry);
	cachedBytes += bytes;
	return entry;
}

const invalidations = new Map<string, number>();
function invalidatedSince(appId: string, t: number) {
	return (invalidations.get(appId) ?? 0) >= t;
}

/** Drops this isolate's copy after an automation write (other isolates catch up within the TTL). */
export function invalidateAutomations(appId: string) {
	drop(appId);
	loading.delete(appId);
	invalidations.set(appId, Date.now());
	if (invalidations.size > MAX_CACHED_APPS) invalidations.clear();
}
