import type { DeliveryChannels, RecipientStatus } from "../../protocol/message.js";
import type { DeliveryPolicy } from "../inbox/types.js";

/**
 * What a shard stores. One message written to a shard is one *entry* (one SQLite row, whatever the
 * number of its recipients in the shard): the frame encoded once, and one small target record per
 * recipient with the seq that recipient's inbox gave it. Everything per user that changes often
 * (latest seq, delivered and acked positions) lives in three typed arrays written as one row each;
 * the rest of a user (devices, gaps, recalls, caps, engagement) in chunks of 256 users per row.
 */

/** Why a target has no seq: expired before it arrived, over a frequency cap, dropped or held by quiet hours / optimal time. */
export type TargetOutcome = "expired" | "capped" | "dropped" | "held";

export interface Target {
	/** The user's number in this shard. */
	u: number;
	/** The seq this user's inbox gave the message; 0 while it has none (see `o`). */
	s: number;
	o?: TargetOutcome;
	/** Held: release at (epoch ms). */
	h?: number;
	/** The user's zone, for a held message's release-time rules. */
	tz?: string;
	/** The frame tail for this recipient alone (templates render per recipient). */
	tail?: string;
	/** Sent to a connected device when written. */
	w?: 1;
	/** channels=auto: vendor fallback due at (epoch ms) unless the user acks first. */
	fd?: number;
	/** Opened / clicked at (epoch ms). */
	op?: number;
	cl?: number;
}

export interface EntryBody {
	/** Message id. */
	m: string;
	/** Part of the message in this shard: 0 for direct sends, the fan-out page for broadcasts. */
	p: number;
	/** The message frame after `{"type":"message","seq":N`: encoded once for every recipient. */
	tail: string;
	/** Written at, expires at (epoch ms). */
	at: number;
	x: number;
	ck?: string;
	/** The message's category, for statistics. */
	cat?: string;
	/** Report counts to the message's ledger (broadcasts); direct sends are read where they are. */
	tally: boolean;
	/** Frames go out now (false for channels=vendor: kept for the next connect). */
	live: boolean;
	channels: DeliveryChannels;
	/** The app's inbox cap per user when the message was sent. */
	cap: number;
	/** channels=auto: vendor push for targets sent over WebSocket that did not ack within this many ms. */
	fb?: number;
	fbDone?: 1;
	/** The app's rules, kept for targets that are held (quiet hours / optimal time). */
	policy?: Omit<DeliveryPolicy, "timeZone">;
	/** Recalled at (epoch ms). */
	rc?: number;
	t: Target[];
}

/** A user's rarely-changing state, stored with 255 others in one chunk row. */
export interface UserRecord {
	id: string;
	/** Erased users keep their number retired; a later delivery starts a new record. */
	gone?: 1;
	/**
	 * Devices that said hello: [the device's number in this shard, last seen]. Their acked positions
	 * are a hot array indexed by that number (they change with every ack).
	 */
	dev: Record<string, [number, number]>;
	/**
	 * Seqs that left the inbox while some device had not acked them (TTL or cap): [from, to, at, the
	 * user's acked and delivered positions then]. Late devices are told with gap frames.
	 */
	gaps: Gap[];
	/** Seqs replaced by a newer message with the same collapse key before any device got them. */
	skip: number[];
	/** Recalled messages this user had: [message id, seq, at]. */
	rcl: [string, number, number][];
	/** Capped sends: [at, category]. */
	sends: [number, string | null][];
	/** Opens and clicks by local hour of the week. */
	eng: Record<string, number>;
	tz?: string;
	/** When the delivered / acked positions moved: [seq, at], oldest first, bounded. */
	dlog: [number, number][];
	alog: [number, number][];
}

export type Gap = [from: number, to: number, at: number, ackedThen: number, deliveredThen: number];

export function newUserRecord(id: string): UserRecord {
	return { id, dev: {}, gaps: [], skip: [], rcl: [], sends: [], eng: {}, dlog: [], alog: [] };
}

/** Positions of one user, from the hot arrays. */
export interface Positions {
	seq: number;
	delivered: number;
	acked: number;
}

/**
 * The one place that says where a recipient stands with a message. A receipt moves
 * queued → delivered → acked → opened, or leaves as expired (TTL, cap, collapse), capped, dropped or
 * recalled; nothing else writes a status, every count and view is derived here.
 */
export function targetStatus(
	entry: EntryBody,
	t: Target,
	user: UserRecord | undefined,
	pos: Positions,
	now: number,
): RecipientStatus {
	if (entry.rc !== undefined) return "recalled";
	if (t.o === "expired" || t.o === "capped" || t.o === "dropped") return t.o;
	if (t.s === 0) return entry.x <= now ? "expired" : "queued"; // held
	if (t.op !== undefined || t.cl !== undefined) return "opened";
	if (user?.skip.includes(t.s)) return "expired";
	const gap = user ? gapOf(user.gaps, t.s) : undefined;
	if (gap) return t.s <= gap[3] ? "acked" : "expired";
	if (t.s <= pos.acked) return "acked";
	if (entry.x <= now) return "expired";
	if (t.w || t.s <= pos.delivered) return "delivered";
	return "queued";
}

export function gapOf(gaps: readonly Gap[], seq: number): Gap | undefined {
	for (const g of gaps) if (seq >= g[0] && seq <= g[1]) return g;
	return undefined;
}

/** When a position log first reached `seq`. */
export function reachedAt(log: readonly [number, number][], seq: number): number | undefined {
	for (const [s, at] of log) if (s >= seq) return at;
	return undefined;
}

/** Appends a position move; moves within a second coalesce, and the log keeps its newest 64. */
export function logPosition(log: [number, number][], seq: number, at: number): void {
	const last = log.at(-1);
	if (last && last[0] >= seq) return;
	if (last && at - last[1] < 1000) last[0] = seq;
	else log.push([seq, at]);
	if (log.length > 64) log.splice(0, log.length - 64);
}

/**
 * A user's device by id. Device ids come from clients and may be "constructor", "toString" or
 * "__proto__": only own properties count, and a new one is defined, never assigned.
 */
export function deviceOf(user: UserRecord, deviceId: string): [number, number] | undefined {
	return Object.hasOwn(user.dev, deviceId) ? user.dev[deviceId] : undefined;
}

export function setDevice(user: UserRecord, deviceId: string, device: [number, number]): void {
	Object.defineProperty(user.dev, deviceId, { value: device, enumerable: true, writable: true, configurable: true });
}
