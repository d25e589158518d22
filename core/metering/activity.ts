import { allShards } from "../objects/shard.js";
import { rollupDays, totalDeliveries } from "./external.js";
import type { ExternalUsage } from "./types.js";

/**
 * Monthly active users and per-day peak connections of an app: one call per shard
 * (core/shard/activity.ts). MAU is exact (each user lives in one shard; a user moved by growing the
 * app in that month counts in both shards). A day's peak is the sum of each shard's peak: exact with
 * one shard, an upper bound with more (their peaks may fall at different moments).
 */
export async function activityOf(env: Env, appId: string, month: string): Promise<{ mau: number; peaks: Map<string, number> }> {
	const shards = await allShards(env, appId);
	const parts = await Promise.all(shards.map((s) => s.stub.activityAt({ appId, shard: s.name }, month)));
	const peaks = new Map<string, number>();
	let mau = 0;
	for (const p of parts) {
		mau += p.mau;
		for (const [day, n] of Object.entries(p.peaks)) peaks.set(day, (peaks.get(day) ?? 0) + n);
	}
	return { mau, peaks };
}

/** MAU and deliveries of a month, for the quotas that depend on them (the meter caches them). */
export async function refreshExternal(env: Env, appId: string, month: string): Promise<ExternalUsage> {
	const [activity, days] = await Promise.all([activityOf(env, appId, month), rollupDays(env, appId, month)]);
	return { mau: activity.mau, deliveries: totalDeliveries(days) };
}
