import { allShards } from "../objects/shard.js";
import { mapBounded } from "../util/bounded.js";

/** Connected users and devices of an app right now: one call per shard, each counting its open sockets. */
export async function onlineNow(env: Env, appId: string): Promise<{ users: number; devices: number; at: string }> {
	const shards = await allShards(env, appId);
	const per = await mapBounded(shards, 16, (s) => s.stub.onlineAt({ appId, shard: s.name }));
	return {
		users: per.reduce((n, p) => n + p.users, 0),
		devices: per.reduce((n, p) => n + p.devices, 0),
		at: new Date().toISOString(),
	};
}
