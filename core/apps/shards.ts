import { eq } from "drizzle-orm";
import type { Caller } from "../auth/caller.js";
import { auditEntry } from "../db/audit.js";
import { db } from "../db/client.js";
import { apps } from "../db/schema.js";
import { AppError } from "../errors.js";
import { forgetShardCount, shardStub } from "../objects/shard.js";
import { isShardCount, shardName } from "../shard/addressing.js";
import { mapBounded } from "../util/bounded.js";

export interface ShardGrowth {
	previous: number;
	count: number;
	/** Users each shard holds once the growth settled (index = shard). */
	users: number[];
}

/**
 * Grows an app to `count` shards (a power of two, never fewer than now). The new count is written
 * first, so new calls go to the new shards at once; then every shard is settled: each new one takes
 * its users from its parent (core/shard/growth.ts), connected devices of moved users reconnect (close
 * 4003), and calls made with the old count are forwarded meanwhile. Nothing is lost or repeated if
 * this stops halfway: a shard not settled here takes its users at its first call, and repeating the
 * request with the same count finishes the job.
 */
export async function growShards(env: Env, caller: Caller, appId: string, count: number): Promise<ShardGrowth> {
	if (!isShardCount(count)) {
		throw new AppError("invalid_request", "count must be a power of two from 1 to 1024.", [
			{ path: "count", message: `${count} is not a power of two from 1 to 1024` },
		]);
	}
	const d = db(env);
	const app = await d.select({ n: apps.shardCount }).from(apps).where(eq(apps.id, appId)).get();
	if (!app) throw new AppError("not_found", "No such app.");
	if (count < app.n) {
		throw new AppError("conflict", `The app has ${app.n} shards; shards can only grow.`, [
			{ path: "count", message: `${count} is fewer than the current ${app.n}` },
		]);
	}
	if (count > app.n) {
		await d.batch([
			d.update(apps).set({ shardCount: count }).where(eq(apps.id, appId)),
			auditEntry(d, caller, appId, "app.shards", `${app.n}->${count}`),
		]);
	}
	forgetShardCount(appId);
	const all = Array.from({ length: count }, (_, i) => i);
	const settle = (i: number) => shardStub(env, appId, i).settle({ appId, shard: shardName(appId, i) });
	// Each new shard pulls from its parent (settling that one first if need be); then, everything
	// having moved, the shards say how many users they hold.
	await mapBounded(all.slice(app.n), 8, settle);
	const users = await mapBounded(all, 8, settle);
	return { previous: app.n, count, users };
}
