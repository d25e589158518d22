/**
 * Which shard holds a user. A shard is one Durable Object holding the inbox storage and the
 * WebSockets of every user whose stable hash falls in it; an app has a power-of-two number of them,
 * so growing from n to 2n shards moves a user from shard k only ever to shard k + n.
 */

/** FNV-1a, 32 bits: stable across runtimes and releases (a user's shard must never change by accident). */
export function userHash(userId: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < userId.length; i++) {
		h ^= userId.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return h >>> 0;
}

export function isShardCount(n: number): boolean {
	return Number.isInteger(n) && n >= 1 && n <= 1024 && (n & (n - 1)) === 0;
}

export function shardIndex(userId: string, shardCount: number): number {
	return userHash(userId) & (shardCount - 1);
}

/** The Durable Object name of shard `index` of an app. */
export function shardName(appId: string, index: number): string {
	return `${appId}/shard/${index}`;
}

/** Users grouped by the shard that holds them, in first-seen order within each group. */
export function groupByShard<T>(items: readonly T[], userOf: (item: T) => string, shardCount: number): Map<number, T[]> {
	const groups = new Map<number, T[]>();
	for (const item of items) {
		const k = shardIndex(userOf(item), shardCount);
		const group = groups.get(k);
		if (group) group.push(item);
		else groups.set(k, [item]);
	}
	return groups;
}
