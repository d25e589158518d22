import { eq } from "drizzle-orm";
import { db } from "../db/client.js";
import { apps } from "../db/schema.js";
import { groupByShard, shardIndex, shardName } from "../shard/addressing.js";

/** One shard of an app. Typed through Env, so no Durable Object class is imported here. */
export function shardStub(env: Env, appId: string, index: number) {
	return env.SHARDS.get(env.SHARDS.idFromName(shardName(appId, index)));
}

/** Shard counts change only by an operator growing an app; an isolate keeps them this long. */
const COUNT_TTL_MS = 30_000;
const counts = new Map<string, { n: number; until: number }>();

/** This isolate reads the app's shard count again at its next call (after a growth). */
export function forgetShardCount(appId: string): void {
	counts.delete(appId);
}

/** How many shards an app has (1 for an app that does not exist: its calls fail elsewhere). */
export async function shardCountOf(env: Env, appId: string): Promise<number> {
	const hit = counts.get(appId);
	if (hit && hit.until > Date.now()) return hit.n;
	const row = await db(env).select({ n: apps.shardCount }).from(apps).where(eq(apps.id, appId)).get();
	const n = row?.n ?? 1;
	counts.set(appId, { n, until: Date.now() + COUNT_TTL_MS });
	return n;
}

/** The shard that holds a user, with its name. */
export async function shardOfUser(env: Env, appId: string, userId: string) {
	const index = shardIndex(userId, await shardCountOf(env, appId));
	return { index, name: shardName(appId, index), stub: shardStub(env, appId, index) };
}

/** Users grouped by shard: one call per shard instead of one per user. */
export async function usersByShard(env: Env, appId: string, userIds: readonly string[], shardCount?: number) {
	const n = shardCount ?? (await shardCountOf(env, appId));
	return [...groupByShard(userIds, (u) => u, n)].map(([index, users]) => ({
		index,
		name: shardName(appId, index),
		stub: shardStub(env, appId, index),
		users,
	}));
}

/** Every shard of an app (recall of a broadcast). */
export async function allShards(env: Env, appId: string) {
	const n = await shardCountOf(env, appId);
	return Array.from({ length: n }, (_, index) => ({ index, name: shardName(appId, index), stub: shardStub(env, appId, index) }));
}

/**
 * A user's inbox, in the shard that holds them: the per-user view that the API routes and tests
 * use (stats, presence, recipient view, erase, the WebSocket hand-over).
 */
export function inboxFor(env: Env, appId: string, userId: string) {
	const at = async () => {
		const s = await shardOfUser(env, appId, userId);
		return { stub: s.stub, address: { appId, shard: s.name } };
	};
	type At = Awaited<ReturnType<typeof at>>;
	const on =
		<A extends unknown[], R>(call: (s: At, ...args: A) => Promise<R>) =>
		async (...args: A) =>
			call(await at(), ...args);
	return {
		stats: on((s) => s.stub.stats(s.address, userId)),
		presence: on((s) => s.stub.presence(s.address, userId)),
		recipient: on((s, messageId: string) => s.stub.recipient(s.address, messageId, userId)),
		erase: on((s) => s.stub.erase(s.address, userId)),
		forgetDevice: on((s, deviceId: string) => s.stub.forgetDevice(s.address, userId, deviceId)),
		revokeTokens: on((s, before: number) => s.stub.revokeTokens(s.address, userId, before)),
		/** Hands a checked WebSocket upgrade to the user's shard. */
		connect: async (request: Request) => {
			const s = await at();
			const headers = new Headers(request.headers);
			headers.set("x-warbler-shard", s.address.shard);
			return s.stub.fetch(new Request(request.url, { headers }));
		},
	};
}
