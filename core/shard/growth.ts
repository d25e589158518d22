import { userHash } from "./addressing.js";
import type { EntryBody, UserRecord } from "./model.js";

/**
 * Growing an app's shards (n → 2n, or further by doubling again). Each new shard i takes its users
 * from one *parent*: i with its highest bit cleared (shard 3 from 1, 1 from 0, 6 from 2). It pulls
 * them itself, before it serves anything: the parent hands over a snapshot of exactly the users of
 * i's range, keeps that range as *moved* (forwarding whatever still arrives for them under the old
 * count) and keeps the snapshot until the child has stored it, so a crash on either side loses and
 * repeats nothing. Nothing moves until a new shard is first used; growing pokes each one at once.
 */

/** The users a shard took from its parent: those whose hash ANDed with `mask` equals `index`. */
export interface ShardRange {
	index: number;
	mask: number;
}

/** The parent of shard `index` (> 0) and the range it takes from it. */
export function parentOf(index: number): { parent: number; range: ShardRange } {
	const top = 2 ** Math.floor(Math.log2(index));
	return { parent: index - top, range: { index, mask: top * 2 - 1 } };
}

export function inRange(userId: string, range: ShardRange): boolean {
	return (userHash(userId) & range.mask) >>> 0 === range.index;
}

/** The index of a shard from its name (`${appId}/shard/${index}`). */
export function indexOfName(name: string): number {
	return Number(name.slice(name.lastIndexOf("/") + 1)) || 0;
}

/** One user handed from a parent to a child: everything their inbox needs, positions included. */
export interface MovedUser {
	record: UserRecord;
	seq: number;
	delivered: number;
	acked: number;
	/** Acked position per device id (device numbers are the parent's own; the child gives new ones). */
	devices: Record<string, number>;
}

/**
 * What a child takes from its parent. Entries carry only the moved users' targets, with `u` the
 * position of the user in `users`; recall tombstones (part < 0) come whole.
 */
export interface ShardSnapshot {
	users: MovedUser[];
	entries: EntryBody[];
	/** Vendor fallbacks due up to here were handled by the parent. */
	fallbackThrough: number;
	/** Client-token revocations of the range's users (erased users' included). */
	revoked?: [string, number][];
}
