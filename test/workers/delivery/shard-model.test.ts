/**
 * A model-based property test of one shard: random mixes of sends to some of its users (direct and
 * broadcast-like parts), collapse keys, sends that arrive already expired, acks, connects and
 * disconnects of several devices per user, recalls, a small inbox cap and object restarts (evicted
 * mid-stream, sockets kept). A tiny reference model of the inboxes says what each device must see;
 * the real shard, over real WebSockets, must agree:
 *
 * - every message reaches each targeted device exactly once, unless it left first (collapsed,
 *   recalled, over the cap: then it never arrives, and a device that had not acked it hears of it as a gap);
 * - seqs strictly increase per device, and welcome.seq is the user's latest seq;
 * - gap frames cover exactly the seqs that left a device's inbox unacked;
 * - a device that showed a message that is later recalled is told so;
 * - a restart after the shard's flush changes nothing; a crash before it may forget the last half
 *   second of acks (more gaps, held counts), but still loses nothing without a gap frame;
 * - growing the app's shards (1 → 2 → 4) in the middle of all this changes nothing a device sees,
 *   beyond a close with 4003 and a reconnect: users move to new shards with their inboxes, calls
 *   that still count the old shards are forwarded, and a child that "crashed" after its parent
 *   handed the users over (the snapshot thrown away) takes them again, intact.
 *
 * The users hash to shards 0, 1 and 3 of 4 (ann, cy, fay): growing to 2 moves cy and fay to shard 1,
 * growing to 4 moves fay on to shard 3.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shardStub } from "../../../core/objects/shard.js";
import { shardIndex, shardName } from "../../../core/shard/addressing.js";
import { emptyCounts, type ShardCounts, type ShardDelivery } from "../../../core/shard/api.js";
import { parentOf } from "../../../core/shard/growth.js";
import type { ServerFrame } from "../../../protocol/frames.js";
import { TestSocket } from "./helpers.js";

const USERS = ["ann", "cy", "fay"];
const MAX_SHARDS = 4;
const DEVICES_PER_USER = 2;
const CAP = 3;

type Cmd =
	| { k: "send"; users: number[]; collapse: "a" | "b" | null; expired: boolean; part: number; stale: boolean }
	| { k: "connect"; dev: number; stale: boolean }
	| { k: "disconnect"; dev: number }
	| { k: "ack"; dev: number }
	| { k: "recall"; msg: number; stale: boolean }
	| { k: "grow"; childCrashes: boolean }
	| { k: "redeliver"; msg: number }
	| { k: "restart" }
	| { k: "crash" };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
	{
		weight: 5,
		arbitrary: fc.record({
			k: fc.constant("send" as const),
			users: fc.uniqueArray(fc.integer({ min: 0, max: USERS.length - 1 }), { minLength: 1, maxLength: USERS.length }),
			collapse: fc.constantFrom("a" as const, "b" as const, null, null),
			expired: fc.constantFrom(false, false, false, true),
			part: fc.constantFrom(0, 1, 2),
			stale: fc.boolean(),
		}),
	},
	{
		weight: 3,
		arbitrary: fc.record({
			k: fc.constant("connect" as const),
			dev: fc.nat(USERS.length * DEVICES_PER_USER - 1),
			stale: fc.boolean(),
		}),
	},
	{
		weight: 2,
		arbitrary: fc.record({ k: fc.constant("disconnect" as const), dev: fc.nat(USERS.length * DEVICES_PER_USER - 1) }),
	},
	{ weight: 3, arbitrary: fc.record({ k: fc.constant("ack" as const), dev: fc.nat(USERS.length * DEVICES_PER_USER - 1) }) },
	{ weight: 1, arbitrary: fc.record({ k: fc.constant("recall" as const), msg: fc.nat(30), stale: fc.boolean() }) },
	{ weight: 1, arbitrary: fc.record({ k: fc.constant("grow" as const), childCrashes: fc.boolean() }) },
	{ weight: 1, arbitrary: fc.record({ k: fc.constant("redeliver" as const), msg: fc.nat(30) }) },
	{ weight: 1, arbitrary: fc.record({ k: fc.constant("restart" as const) }) },
	{ weight: 1, arbitrary: fc.record({ k: fc.constant("crash" as const) }) },
);

/** The reference: one user's inbox as the contract describes it. */
interface ModelUser {
	seq: number;
	/** Messages owed to some known device, in seq order. */
	owed: { seq: number; id: string; collapse: string | null }[];
	/** Ack position of every device that said hello. */
	known: Map<number, number>;
	/** Seqs that left while owed (cap): what late devices must hear as gaps. */
	gaps: Set<number>;
	/** Of those, the ones no device had acked when they left (they count as expired). */
	gapsUnacked: Set<number>;
	/** Seqs replaced by a newer message with the same collapse key before any device got them. */
	skipped: Set<number>;
	recalled: Set<string>;
	seqOf: Map<string, number>;
}

interface Device {
	user: number;
	id: string;
	socket?: TestSocket;
	/** Frames seen so far in the current socket. */
	read: number;
	lastSeq: number;
	/** Every message id this device was shown, with its seq. */
	shown: Map<string, number>;
	seqs: number[];
	gaps: Set<number>;
	recallsSeen: Set<string>;
	/** At the device's first hello: the user's latest seq, and what the inbox still held then. */
	joined?: { seq: number; held: Set<number> };
}

async function run(cmds: Cmd[]) {
	const appId = `app_model_${crypto.randomUUID()}`;
	/** The app's shards now, and before the last growth (what a caller with a stale count uses). */
	let count = 1;
	let before = 1;
	const shardAt = (index: number) => ({ index, shard: shardName(appId, index), stub: shardStub(env, appId, index) });
	const shardOf = (user: string, stale = false) => shardAt(shardIndex(user, stale ? before : count));
	const allShards = (n = count) => Array.from({ length: n }, (_, i) => shardAt(i));
	/** One call per shard for a delivery's targets, as the fan-out makes them. */
	const deliverAll = async (d: ShardDelivery, stale = false) => {
		const groups = new Map<number, ShardDelivery["targets"]>();
		for (const t of d.targets) {
			const i = shardOf(t.userId, stale).index;
			groups.set(i, [...(groups.get(i) ?? []), t]);
		}
		const results = await Promise.all(
			[...groups].map(([i, targets]) => shardAt(i).stub.deliver({ ...d, shard: shardAt(i).shard, targets })),
		);
		return results.flat();
	};
	const model: ModelUser[] = USERS.map(() => ({
		seq: 0,
		owed: [],
		known: new Map(),
		gaps: new Set(),
		gapsUnacked: new Set(),
		skipped: new Set(),
		recalled: new Set(),
		seqOf: new Map(),
	}));
	const devices: Device[] = [];
	for (let u = 0; u < USERS.length; u++) {
		for (let d = 0; d < DEVICES_PER_USER; d++) {
			devices.push({
				user: u,
				id: `d${d}`,
				read: 0,
				lastSeq: 0,
				shown: new Map(),
				seqs: [],
				gaps: new Set(),
				recallsSeen: new Set(),
			});
		}
	}
	const sent: { id: string; users: number[]; expired: boolean; delivery: ShardDelivery }[] = [];
	let crashed = false;

	const absorb = (dev: Device) => {
		const s = dev.socket;
		if (!s) return;
		for (const f of s.frames.slice(dev.read) as ServerFrame[]) {
			if (f.type === "message") {
				expect(dev.shown.has(f.id), `${USERS[dev.user]}/${dev.id} shown ${f.id} twice`).toBe(false);
				const last = dev.seqs.at(-1) ?? 0;
				expect(f.seq, `${USERS[dev.user]}/${dev.id} seq order`).toBeGreaterThan(last);
				dev.shown.set(f.id, f.seq);
				dev.seqs.push(f.seq);
				dev.lastSeq = f.seq;
			} else if (f.type === "gap") {
				for (let q = f.from; q <= f.to; q++) dev.gaps.add(q);
			} else if (f.type === "recall") {
				dev.recallsSeen.add(f.id);
			} else if (f.type === "welcome") {
				expect(f.seq, "welcome.seq is the user's latest seq").toBe(model[dev.user]!.seq);
			}
		}
		dev.read = s.frames.length;
	};
	const settleAll = async () => {
		for (const dev of devices) {
			if (!dev.socket) continue;
			await dev.socket.settle().catch(() => undefined);
			absorb(dev);
			if (dev.socket.closed) {
				// Only a growth closes a socket here: the user's inbox moved, the device reconnects later.
				expect(dev.socket.closed.code, `${USERS[dev.user]}/${dev.id} closed`).toBe(4003);
				dev.socket = undefined;
			}
		}
	};
	/** Messages every known device acked leave the inbox (with no known device, nothing does). */
	const prune = (m: ModelUser) => {
		if (m.known.size === 0) return;
		const floor = Math.min(...m.known.values());
		m.owed = m.owed.filter((o) => o.seq > floor);
	};

	/** A device connects and resumes from what it has; hello counts as its ack up to there. */
	const connect = async (i: number, stale = false) => {
		const dev = devices[i]!;
		const m = model[dev.user]!;
		const at = shardOf(USERS[dev.user]!, stale);
		dev.socket = await TestSocket.toShard(at.stub, { appId, shard: at.shard, userId: USERS[dev.user]!, deviceId: dev.id });
		dev.read = 0;
		dev.socket.send({ type: "hello", last_seq: dev.lastSeq });
		await dev.socket.next((f) => f.type === "welcome");
		dev.joined ??= { seq: m.seq, held: new Set(m.owed.map((o) => o.seq)) };
		m.known.set(i, Math.max(m.known.get(i) ?? 0, dev.lastSeq));
		prune(m);
	};

	for (const c of cmds) {
		if (c.k === "send") {
			const id = `msg_${String(sent.length).padStart(4, "0")}`;
			const recipients = c.users.map((u) => USERS[u]!);
			const d: ShardDelivery = {
				appId,
				shard: "",
				messageId: id,
				part: c.part,
				content: { type: "text", body: id },
				sentAt: new Date().toISOString(),
				expiresAt: c.expired ? Date.now() - 1 : Date.now() + 3_600_000,
				...(c.collapse ? { collapseKey: c.collapse } : {}),
				cap: CAP,
				live: true,
				channels: "ws",
				defaultTimeZone: "UTC",
				tally: false,
				targets: recipients.map((userId) => ({ userId })),
			};
			await deliverAll(d, c.stale);
			sent.push({ id, users: c.users, expired: c.expired, delivery: d });
			if (!c.expired) {
				for (const u of c.users) {
					const m = model[u]!;
					const seq = ++m.seq;
					m.seqOf.set(id, seq);
					if (c.collapse) {
						// Collapse replaces only what no device of the user has been shown.
						const shownToSome = (s: number) => devices.some((dv) => dv.user === u && [...dv.shown.values()].includes(s));
						for (const o of [...m.owed]) {
							if (o.collapse === c.collapse && !shownToSome(o.seq)) {
								m.skipped.add(o.seq);
								m.owed = m.owed.filter((x) => x !== o);
							}
						}
					}
					m.owed.push({ seq, id, collapse: c.collapse });
					while (m.owed.length > CAP) {
						const left = m.owed.shift()!.seq;
						m.gaps.add(left);
						if (Math.max(0, ...m.known.values()) < left) m.gapsUnacked.add(left);
					}
				}
			}
			await settleAll();
		} else if (c.k === "connect") {
			if (devices[c.dev]!.socket) continue;
			await connect(c.dev, c.stale);
			await settleAll();
		} else if (c.k === "disconnect") {
			const dev = devices[c.dev]!;
			if (!dev.socket) continue;
			await dev.socket.settle();
			absorb(dev);
			dev.socket.close();
			dev.socket = undefined;
		} else if (c.k === "ack") {
			const dev = devices[c.dev]!;
			if (!dev.socket || dev.lastSeq === 0) continue;
			dev.socket.send({ type: "ack", seq: dev.lastSeq });
			const m = model[dev.user]!;
			m.known.set(c.dev, Math.max(m.known.get(c.dev) ?? 0, dev.lastSeq));
			prune(m);
			await settleAll();
		} else if (c.k === "redeliver") {
			// A redelivered job (a queue retry): nothing is stored or sent again.
			const again = sent[c.msg];
			if (!again) continue;
			const results = await deliverAll(again.delivery);
			for (const r of results) expect(r.duplicate, `redelivery of ${again.id} to ${r.userId}`).toBe(true);
			await settleAll();
		} else if (c.k === "recall") {
			const target = sent[c.msg];
			if (!target) continue;
			// All shards, or (a caller that counts the shards from before the growth) only the old ones.
			await Promise.all(allShards(c.stale ? before : count).map((s) => s.stub.recall({ appId, shard: s.shard }, target.id)));
			for (const u of target.users) {
				const m = model[u]!;
				m.recalled.add(target.id);
				m.owed = m.owed.filter((o) => o.id !== target.id);
			}
			await settleAll();
		} else if (c.k === "grow") {
			if (count === MAX_SHARDS) continue;
			before = count;
			count *= 2;
			for (let i = before; i < count; i++) {
				// The child asked, its parent handed the users over, and the child died before storing them.
				const { parent, range } = parentOf(i);
				if (c.childCrashes) await shardAt(parent).stub.exportTo({ appId, shard: shardAt(parent).shard }, range);
				await shardAt(i).stub.settle({ appId, shard: shardAt(i).shard });
			}
			await settleAll();
		} else {
			for (const s of allShards()) {
				await s.stub.stats({ appId, shard: s.shard }, USERS[0]!); // running, so that it can be evicted
				// A restart after the shard's flush (idle eviction, deploy) must change nothing at all; a
				// crash before it may forget acks of the last half second, but never loses a message.
				if (c.k === "restart") await runDurableObjectAlarm(s.stub);
				else crashed = true;
				await evictDurableObject(s.stub);
			}
		}
	}

	// Drain: every device connects and resumes; then check what each saw against the model.
	for (const [i, dev] of devices.entries()) if (!dev.socket) await connect(i);
	await settleAll();
	for (const dev of devices) {
		const m = model[dev.user]!;
		const who = `${USERS[dev.user]}/${dev.id}`;
		for (let seq = 1; seq <= m.seq; seq++) {
			const id = [...m.seqOf].find(([, s]) => s === seq)?.[0];
			const shown = [...dev.shown.values()].includes(seq);
			if (shown) {
				expect(dev.gaps.has(seq), `${who}: a gap covers seq ${seq} it was shown`).toBe(false);
				continue;
			}
			if (m.skipped.has(seq)) continue;
			if (id && m.recalled.has(id)) continue;
			// Acked by every device the user had before this one said hello: it had left the inbox.
			if (dev.joined && seq <= dev.joined.seq && !dev.joined.held.has(seq)) continue;
			// Not shown, not collapsed, not recalled: it left unacked, and the device heard of it as a gap.
			if (!crashed) expect(m.gaps.has(seq), `${who}: seq ${seq} (${id}) never arrived`).toBe(true);
			expect(dev.gaps.has(seq), `${who}: seq ${seq} (${id}) left without a gap frame`).toBe(true);
		}
		if (!crashed) for (const g of dev.gaps) expect(m.gaps.has(g), `${who}: gap ${g} the model did not drop`).toBe(true);
		for (const [id] of dev.shown) {
			if (m.recalled.has(id)) expect(dev.recallsSeen.has(id), `${who}: not told of the recall of ${id}`).toBe(true);
		}
	}
	// Exact counts: each message's counts in the shard equal a recount from the reference model, and
	// a recount from the shard's own recipient views.
	for (const msg of sent) {
		const counts = emptyCounts();
		for (const s of allShards()) {
			const some = await s.stub.counts({ appId, shard: s.shard }, msg.id);
			for (const f of Object.keys(counts) as (keyof ShardCounts)[]) counts[f] += some[f];
		}
		const recalled = model.some((m) => m.recalled.has(msg.id));
		const expired = msg.users.filter((u) => {
			const m = model[u]!;
			const seq = m.seqOf.get(msg.id);
			return msg.expired || (seq !== undefined && (m.skipped.has(seq) || m.gapsUnacked.has(seq)));
		}).length;
		expect(counts.targeted, `${msg.id} targeted`).toBe(msg.users.length);
		expect(counts.recalled, `${msg.id} recalled`).toBe(recalled ? msg.users.length : 0);
		if (!crashed) expect(counts.expired, `${msg.id} expired`).toBe(recalled ? 0 : expired);
		const views = await Promise.all(
			msg.users.map((u) => {
				const s = shardOf(USERS[u]!);
				return s.stub.recipient({ appId, shard: s.shard }, msg.id, USERS[u]!);
			}),
		);
		expect(views.filter(Boolean).length).toBe(counts.targeted);
		for (const status of ["recalled", "expired", "capped", "dropped"] as const) {
			expect(views.filter((v) => v?.status === status).length, `${msg.id} ${status} by view`).toBe(counts[status]);
		}
		expect(views.filter((v) => v?.delivered_at !== undefined).length, `${msg.id} delivered by view`).toBe(counts.delivered);
	}
	for (const dev of devices) dev.socket?.close();
}

describe("a shard against a reference model of the inboxes", () => {
	it("agrees on random sends, collapses, caps, acks, reconnects, recalls, restarts and growth", async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(cmd, { minLength: 10, maxLength: 60 }), (cmds) => run(cmds)),
			{ numRuns: 60 },
		);
	}, 120_000);
});
