import type { ClientFrame, ServerFrame } from "../../protocol/frames.js";
import { CloseCode } from "../../protocol/frames.js";
import { MAX_DEVICES_PER_USER } from "../../protocol/limits.js";
import type { MessageContent, RecipientStatus } from "../../protocol/message.js";
import { timeIdPrefix } from "../auth/crypto.js";
import type { FallbackJob } from "../dispatch/jobs.js";
import type { InboxRecipientView, SocketState } from "../inbox/types.js";
import { ledgerFor } from "../objects/ledger.js";
import { shardStub } from "../objects/shard.js";
import { localHourOfWeek } from "../rules/time.js";
import { MinHeap } from "../util/min-heap.js";
import { type Engagement, emitEngagements } from "../webhooks/recipient-events.js";
import { ShardActivity, type ShardActivityMonth } from "./activity.js";
import { shardName } from "./addressing.js";
import type { ConnectLimits } from "./api.js";
import { emptyCounts, type ShardAddress, type ShardCounts, type ShardDelivery, type ShardResult } from "./api.js";
import { indexOfName, inRange, type MovedUser, parentOf, type ShardRange, type ShardSnapshot } from "./growth.js";
import {
	deviceOf,
	type EntryBody,
	gapOf,
	logPosition,
	type Positions,
	reachedAt,
	setDevice,
	type Target,
	targetStatus,
	type UserRecord,
} from "./model.js";
import { countsTowardCaps, verdictFor } from "./policy.js";
import { type Sessions, safeClose, saveState, send, sendRaw, stateOf } from "./sessions.js";
import { type HourStats, HourTally } from "./stats.js";
import { entryKey, RECEIPT_GRACE_MS, ShardStore } from "./store.js";

/**
 * Messages sent to a device in one go when it resumes: a larger backlog follows as the device acks
 * (at most this many unacked at a time), so a reconnect never floods the device or the shard.
 */
export const REPLAY_WINDOW = 256;
/** Messages whose reached users are indexed at once (a broadcast's parts arrive close together). */
const REACHED_INDEX_MESSAGES = 8;
/** Opens and clicks kept for webhooks between two flushes; more in one flush are not sent as webhooks. */
const MAX_ENGAGED_PER_FLUSH = 10_000;
/** Changes reach storage and the ledgers at most this long after they happen. */
export const FLUSH_DELAY_MS = 500;
/** Delivered/acked timestamps, engagement and last-seen times are written at least this often. */
export const LAZY_FLUSH_MS = 30_000;
/** Gap and recall records older than this are pruned. */
const HISTORY_MS = 30 * 24 * 3600 * 1000;
/** A recall that arrives before its message stays this long (a late fan-out job must not land). */
const TOMBSTONE_MS = 30 * 24 * 3600 * 1000;

/** Another shard of the same app, by name. */
type ShardAt = { at: ShardAddress; stub: ReturnType<typeof shardStub> };

/** A message in one user's inbox: owed to some device until every known device acks it, or it leaves. */
interface Item {
	seq: number;
	entry: EntryBody;
	target: Target;
	/** Sent to some device (collapse only replaces messages that no device got). */
	sent: boolean;
}

/**
 * One shard: the inboxes and WebSocket sessions of many users of one app. The Durable Object class
 * is a thin shell over this; storage, sessions and the delivery rules are modules of their own.
 *
 * Memory holds every entry that has not expired, indexed by message and by user; SQLite holds the
 * same (written once per entry, see ShardStore) plus expired entries until their receipts retire.
 */
export class Shard {
	readonly store: ShardStore;
	/** Monthly active users and the day's peak of ready sockets (usage; core/shard/activity.ts). */
	readonly activity: ShardActivity;
	private readonly live = new Map<string, EntryBody>();
	private readonly byMessage = new Map<string, EntryBody[]>();
	private readonly inbox = new Map<number, Item[]>();
	private readonly reports = new Set<string>();
	/** For the messages delivered last: which user (number) each reached in which entry (see partWith). */
	private readonly reachedIndex = new Map<string, Map<number, EntryBody>>();
	private alarmAt: number | null = null;
	/** Which app and shard this is, read once (it never changes). */
	private identity: { appId: string; name: string } | undefined;
	/** Timers, earliest first: entries expiring, held targets to release, fallbacks to check. */
	private readonly expiries = new MinHeap<EntryBody>();
	private holds = new MinHeap<{ entry: EntryBody; target: Target }>();
	private readonly fallbacks = new MinHeap<{ entry: EntryBody; target: Target }>();
	/** Fallbacks due up to here were handled (written at each check: no entry is rewritten for it). */
	private fallbackThrough: number;
	/** The earliest client-token expiry among the sockets (their attachments say exactly). */
	private tokenDue = Number.POSITIVE_INFINITY;
	private lastLazyFlush = Date.now();
	/** Ranges of users handed to child shards when the app grew: what still arrives for them is forwarded. */
	private moved: ShardRange[];
	/** This shard holds its users: it is shard 0, or it took its range from its parent (growth.ts). */
	private settled = false;
	/** Report revisions: a ledger keeps each shard's latest report (counts can drop when users move). */
	private rev = 0;
	/** First opens and clicks since the last flush, for `message.opened` / `message.clicked` webhooks. */
	private engaged: Engagement[] = [];

	constructor(
		private readonly ctx: DurableObjectState,
		private readonly env: Env,
		private readonly sessions: Sessions,
	) {
		this.store = new ShardStore(ctx.storage.sql);
		this.activity = new ShardActivity(ctx.storage.sql, () => this.sessions.all().filter((ws) => stateOf(ws)?.ready).length);
		const appId = this.store.meta("app_id");
		if (appId !== undefined) this.identity = { appId, name: this.store.meta("name") ?? "" };
		this.moved = JSON.parse(this.store.meta("moved") ?? "[]") as ShardRange[];
		if (this.identity) this.settled = indexOfName(this.name) === 0 || this.store.meta("ready") === "1";
		this.fallbackThrough = Number(this.store.meta("fallback_through") ?? "0");
		const expiredThrough = Number(this.store.meta("expired_through") ?? "0");
		for (const e of this.store.entriesExpiringAfter(expiredThrough)) this.index(e);
		for (const items of this.inbox.values()) items.sort((a, b) => a.seq - b.seq);
		for (const ws of this.sessions.all()) this.tokenDue = Math.min(this.tokenDue, (stateOf(ws)?.tokenExp ?? Infinity) * 1000);
		void ctx.blockConcurrencyWhile(async () => {
			this.alarmAt = await ctx.storage.getAlarm();
		});
	}

	get appId(): string {
		return this.identity?.appId ?? "";
	}

	get name(): string {
		return this.identity?.name ?? "";
	}

	/** The shard learns which app (and which shard of it) it is from its first caller; written once. */
	private remember(appId: string, name: string) {
		if (this.identity) return;
		this.identity = { appId, name };
		this.store.setMeta("app_id", appId);
		this.store.setMeta("name", name);
	}

	// ---- writes ----------------------------------------------------------------------------------

	/**
	 * Stores one message for its targets in this shard: one entry whatever their number, each target
	 * its user's next seq, then the frame to every ready socket of each target. Idempotent on
	 * (message, part), and per user on the message id.
	 */
	async deliver(d: ShardDelivery): Promise<ShardResult[]> {
		await this.enter(d);
		const forwarded = this.forward(
			d.targets,
			(t) => t.userId,
			(child, targets) => child.stub.deliver({ ...d, ...child.at, targets }),
		);
		if (forwarded) {
			const [mine, elsewhere] = forwarded;
			const results = await this.deliver({ ...d, targets: mine });
			return results.concat((await Promise.all(elsewhere)).flat());
		}
		const now = Date.now();
		const prior = this.live.get(entryKey(d.messageId, d.part)) ?? this.store.findEntry(d.messageId, d.part);
		if (prior) return d.targets.map((t) => this.resultFor(prior, t.userId, now, true));
		const entry: EntryBody = {
			m: d.messageId,
			p: d.part,
			tail: frameTail(d.messageId, d.content, d.sentAt),
			at: now,
			x: d.expiresAt,
			tally: d.tally,
			live: d.live,
			channels: d.channels,
			cap: d.cap,
			t: [],
		};
		if (d.collapseKey) entry.ck = d.collapseKey;
		if (d.category) entry.cat = d.category;
		if (d.fallbackAfterMs !== undefined) entry.fb = d.fallbackAfterMs;
		if (d.policy) entry.policy = d.policy;
		// Recalled before it arrived: its recipients are recorded as recalled, and nothing is sent.
		const recalledAt = this.recalledAt(d.messageId);
		if (recalledAt !== undefined) entry.rc = recalledAt;
		const results: ShardResult[] = [];
		// A message not held in memory has its stored parts read once for the whole delivery. Part 0 is
		// the direct path: no other part can have reached the user.
		let stored: EntryBody[] | undefined;
		const storedParts = () => {
			stored ??= d.part !== 0 ? this.store.entriesOf(d.messageId) : [];
			return stored;
		};
		for (const target of d.targets) {
			const uid = this.store.ensureUser(target.userId);
			const earlier = this.partWith(d.messageId, uid, storedParts);
			if (earlier) {
				results.push(this.resultFor(earlier, target.userId, now, true));
				continue;
			}
			const t: Target = { u: uid, s: 0 };
			if (target.content) t.tail = frameTail(d.messageId, target.content, d.sentAt);
			entry.t.push(t);
			this.reachedIndex.get(d.messageId)?.set(uid, entry);
			if (entry.rc !== undefined) {
				// Recorded, never placed.
			} else if (d.expiresAt <= now) {
				t.o = "expired";
			} else if (d.policy) {
				const user = this.store.user(uid)!;
				const timeZone = target.timeZone ?? d.defaultTimeZone;
				if (user.tz !== timeZone) {
					user.tz = timeZone;
					this.store.touchLazily(uid);
				}
				const verdict = verdictFor(user, { ...d.policy, timeZone }, now);
				if (verdict.kind === "capped" || verdict.kind === "dropped") t.o = verdict.kind;
				else if (verdict.kind === "held" && verdict.until < d.expiresAt) {
					t.o = "held";
					t.h = verdict.until;
					this.holds.push(t.h, { entry, target: t });
					t.tz = timeZone;
				}
			}
			if (t.o === undefined && entry.rc === undefined) this.place(entry, t, now);
			results.push(this.resultFor(entry, target.userId, now, false));
		}
		if (entry.t.length > 0) {
			this.store.insertEntry(entry);
			if (entry.x > now) this.track(entry);
			// A broadcast's counts reach its ledger before the fan-out records the job as done.
			if (entry.tally) await this.report([entry.m]);
		}
		// New users, gaps and collapses are durable with the entry that caused them.
		this.store.flushUrgent();
		await this.schedule();
		return results;
	}

	/** Gives a target its user's next seq, puts it in the inbox and sends it to the user's ready sockets. */
	private place(entry: EntryBody, t: Target, now: number) {
		const user = this.store.user(t.u)!;
		const seq = this.store.get("seq", t.u) + 1;
		this.store.set("seq", t.u, seq);
		t.s = seq;
		delete t.o;
		delete t.h;
		delete t.tz;
		if (entry.ck) this.collapse(t.u, entry.ck);
		const item: Item = { seq, entry, target: t, sent: false };
		this.itemsOf(t.u).push(item);
		if (countsTowardCaps(entry.policy)) {
			user.sends.push([now, entry.policy?.category ?? null]);
			this.store.touch(t.u);
		}
		this.enforceCap(t.u, entry.cap, now);
		if (entry.live && this.sessions.sendToUser(user.id, frameOf(seq, t.tail ?? entry.tail)) > 0) {
			item.sent = true;
			t.w = 1;
			this.advanceDelivered(t.u, seq, now);
			if (entry.fb !== undefined) {
				// On a 1 s grid: one alarm checks every fallback due in that second.
				t.fd = Math.ceil((now + entry.fb) / 1000) * 1000;
				this.fallbacks.push(t.fd, { entry, target: t });
			}
		}
	}

	/** A newer message with the same collapse key replaces older ones that no device has been sent. */
	private collapse(uid: number, key: string) {
		const items = this.itemsOf(uid);
		const user = this.store.user(uid)!;
		for (let i = items.length - 1; i >= 0; i--) {
			const it = items[i]!;
			if (it.entry.ck !== key || it.sent) continue;
			user.skip.push(it.seq);
			items.splice(i, 1);
			this.store.touch(uid);
			if (it.entry.tally) this.reports.add(it.entry.m);
		}
	}

	/** Past the cap, the oldest messages leave; devices that had not acked them see a gap. */
	private enforceCap(uid: number, cap: number, now: number) {
		const items = this.itemsOf(uid);
		if (items.length <= cap) return;
		for (const victim of items.splice(0, items.length - cap)) {
			this.addGap(uid, victim.seq, now);
			if (victim.entry.tally) this.reports.add(victim.entry.m);
		}
	}

	private addGap(uid: number, seq: number, now: number) {
		const user = this.store.user(uid)!;
		// A device still catching up would never be sent this seq: it hears of it now.
		for (const ws of this.sessions.of(user.id)) {
			const state = stateOf(ws);
			if (state?.ready && state.replayedTo !== undefined && seq > state.replayedTo) send(ws, { type: "gap", from: seq, to: seq });
		}
		const acked = this.store.get("acked", uid);
		const delivered = this.store.get("delivered", uid);
		const last = user.gaps.at(-1);
		if (last && last[1] === seq - 1 && last[3] === acked && last[4] === delivered) last[1] = seq;
		else user.gaps.push([seq, seq, now, acked, delivered]);
		this.store.touch(uid);
	}

	private advanceDelivered(uid: number, seq: number, now: number) {
		if (seq <= this.store.get("delivered", uid)) return;
		this.store.set("delivered", uid, seq);
		logPosition(this.store.user(uid)!.dlog, seq, now);
		this.store.touchLazily(uid);
	}

	/** Removes a message from every inbox in this shard and tells connected devices. */
	async recall(at: ShardAddress, messageId: string): Promise<boolean> {
		await this.enter(at);
		// A caller that still counts the shards from before a growth reaches only the parents.
		const children = this.moved.map((r) => this.shardAt(r.index)).map((c) => c.stub.recall(c.at, messageId));
		const [mine, ...theirs] = await Promise.all([this.recallHere(messageId), ...children]);
		return mine || theirs.some(Boolean);
	}

	private async recallHere(messageId: string): Promise<boolean> {
		const now = Date.now();
		const parts = this.partsOf(messageId);
		if (parts.length === 0) {
			if (this.recalledAt(messageId) === undefined) {
				const tomb: EntryBody = { ...emptyEntry(messageId, now + TOMBSTONE_MS), rc: now };
				this.store.insertEntry(tomb);
				this.track(tomb);
			}
			await this.schedule();
			return false;
		}
		let changed = false;
		const frame = JSON.stringify({ type: "recall", id: messageId } satisfies ServerFrame);
		for (const e of parts) {
			if (e.rc !== undefined) continue;
			e.rc = now;
			changed = true;
			if (e.tally) this.reports.add(e.m);
			this.store.writeEntry(e);
			for (const t of e.t) {
				const user = this.store.user(t.u);
				if (!user || user.gone) continue;
				const items = this.inbox.get(t.u);
				const i = items?.findIndex((it) => it.entry === e) ?? -1;
				if (items && i >= 0) items.splice(i, 1);
				if (t.s > 0) {
					user.rcl.push([messageId, t.s, now]);
					this.store.touch(t.u);
				}
				this.sessions.sendToUser(user.id, frame, true);
			}
		}
		this.store.flushUrgent();
		await this.schedule();
		return changed;
	}

	// ---- reads -----------------------------------------------------------------------------------

	/** Where one user stands with a message, or null if it never reached this user's inbox. */
	async recipient(at: ShardAddress, messageId: string, userId: string): Promise<InboxRecipientView | null> {
		const child = await this.childHolding(at, userId);
		if (child) return child.stub.recipient(child.at, messageId, userId);
		const uid = this.store.uidOf.get(userId);
		if (uid === undefined) return null;
		const now = Date.now();
		for (const e of this.partsOf(messageId)) {
			const t = e.t.find((x) => x.u === uid);
			if (t) return this.viewOf(e, t, now);
		}
		return null;
	}

	/** Several users' views of one message (a page of a `users` message's recipients). */
	async recipientsOf(at: ShardAddress, messageId: string, userIds: string[]): Promise<InboxRecipientView[]> {
		const views = await Promise.all(userIds.map((u) => this.recipient(at, messageId, u)));
		return views.filter((v): v is InboxRecipientView => v !== null);
	}

	/**
	 * One page of a message's recipients in this shard, in the order of their numbers here; `after`
	 * is the last number served (-1 to start). A growth renumbers the users it moves, so a listing
	 * that spans one may miss or repeat them.
	 */
	async recipientsPage(
		at: ShardAddress,
		messageId: string,
		after: number,
		limit: number,
	): Promise<{ views: InboxRecipientView[]; last: number | null }> {
		await this.enter(at);
		const now = Date.now();
		const targets: [Target, EntryBody][] = [];
		for (const e of this.partsOf(messageId)) for (const t of e.t) if (t.u > after) targets.push([t, e]);
		targets.sort((a, b) => a[0].u - b[0].u);
		const page = targets.slice(0, limit);
		return {
			views: page.map(([t, e]) => this.viewOf(e, t, now)),
			last: targets.length > limit ? (page.at(-1)?.[0].u ?? null) : null,
		};
	}

	private viewOf(e: EntryBody, t: Target, now: number): InboxRecipientView {
		const user = this.store.user(t.u);
		const status = targetStatus(e, t, user, this.positions(t.u), now);
		const view: InboxRecipientView = { user_id: user?.id ?? "", status };
		const flags = this.flags(t, user);
		const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
		if (flags.delivered) view.delivered_at = iso(t.w ? e.at : (reachedAt(user?.dlog ?? [], t.s) ?? e.at));
		if (flags.acked) {
			const at = reachedAt(user?.alog ?? [], t.s);
			if (at !== undefined) view.acked_at = iso(at);
		}
		if (t.op !== undefined) view.opened_at = iso(t.op);
		if (t.cl !== undefined) view.clicked_at = iso(t.cl);
		return view;
	}

	/** Exact counts of a message over its recipients in this shard (a caller asks every shard it reaches). */
	async countsAt(at: ShardAddress, messageId: string): Promise<ShardCounts> {
		await this.enter(at);
		return this.counts(messageId);
	}

	private counts(messageId: string): ShardCounts {
		const now = Date.now();
		const c = emptyCounts();
		for (const e of this.partsOf(messageId)) this.countInto(c, e, now);
		return c;
	}

	/** Adds one entry's targets to counts: every count, of a message or of an hour, is a sum of these. */
	private countInto(c: ShardCounts, e: EntryBody, now: number): void {
		for (const t of e.t) {
			const user = this.store.user(t.u);
			const status = targetStatus(e, t, user, this.positions(t.u), now);
			const f = this.flags(t, user);
			c.targeted++;
			if (f.delivered) c.delivered++;
			if (f.acked) c.acked++;
			if (t.op !== undefined || t.cl !== undefined) c.opened++;
			if (t.cl !== undefined) c.clicked++;
			if (status === "expired" || status === "recalled" || status === "capped" || status === "dropped") c[status]++;
		}
	}

	/**
	 * Counts of this shard's recipients of the messages accepted in [from, to), per hour and
	 * category (core/shard/stats.ts): live entries counted now, retired ones as folded.
	 */
	async statsAt(at: ShardAddress, from: number, to: number): Promise<HourStats[]> {
		await this.enter(at);
		const now = Date.now();
		const tally = new HourTally();
		const [lo, hi] = [timeIdPrefix("msg", from), timeIdPrefix("msg", to)];
		const counted = new Set<string>();
		for (const [key, e] of this.live) {
			if (key < lo || key >= hi || e.p < 0) continue;
			counted.add(key);
			this.countInto(tally.of(e), e, now);
		}
		for (const e of this.store.entriesBetween(lo, hi)) {
			if (e.p < 0 || counted.has(entryKey(e.m, e.p))) continue;
			this.countInto(tally.of(e), e, now);
		}
		for (const row of this.store.foldedStats(from, to)) tally.add(row);
		return tally.list();
	}

	/** Connected users and devices (open sockets) in this shard. */
	/** Users who said hello in `month` (YYYY-MM) and each day's peak of ready sockets (usage). */
	async activityAt(at: ShardAddress, month: string): Promise<ShardActivityMonth> {
		await this.enter(at);
		return this.activity.month(month);
	}

	async onlineAt(at: ShardAddress): Promise<{ users: number; devices: number }> {
		await this.enter(at);
		const users = new Set<string>();
		let devices = 0;
		for (const ws of this.sessions.all()) {
			const state = stateOf(ws);
			if (ws.readyState !== WebSocket.OPEN || !state) continue;
			devices++;
			users.add(state.userId);
		}
		return { users: users.size, devices };
	}

	/** The latest seq given to a user, and how many messages their inbox still holds. */
	async stats(at: ShardAddress, userId: string): Promise<{ seq: number; held: number }> {
		const child = await this.childHolding(at, userId);
		if (child) return child.stub.stats(child.at, userId);
		const uid = this.store.uidOf.get(userId);
		if (uid === undefined) return { seq: 0, held: 0 };
		return { seq: this.store.get("seq", uid), held: this.inbox.get(uid)?.length ?? 0 };
	}

	async presence(at: ShardAddress, userId: string): Promise<number> {
		const child = await this.childHolding(at, userId);
		if (child) return child.stub.presence(child.at, userId);
		return this.sessions.presence(userId);
	}

	/** Entries with a target waiting for its release (quiet hours, optimal time). */
	heldEntries(): EntryBody[] {
		return [...this.live.values()].filter((e) => e.t.some((t) => t.o === "held"));
	}

	// ---- users -----------------------------------------------------------------------------------

	/** DELETE /v1/users/{id}: closes the user's sessions and erases their inbox. */
	async erase(at: ShardAddress, userId: string): Promise<void> {
		const child = await this.childHolding(at, userId);
		if (child) return child.stub.erase(child.at, userId);
		// Tokens minted so far die with the user: a device cannot bring the user back.
		this.store.revoke(userId, Date.now());
		for (const ws of this.sessions.of(userId)) safeClose(ws, CloseCode.USER_DELETED, "user deleted");
		const uid = this.store.uidOf.get(userId);
		if (uid === undefined) return;
		this.inbox.delete(uid);
		this.store.retire(uid);
		this.store.flush(false);
	}

	/** POST /v1/users/{id}/tokens/revoke: tokens minted before `before` are refused, their sockets closed. */
	async revokeTokens(at: ShardAddress, userId: string, before: number): Promise<void> {
		const child = await this.childHolding(at, userId);
		if (child) return child.stub.revokeTokens(child.at, userId, before);
		this.store.revoke(userId, before);
		for (const ws of this.sessions.of(userId)) {
			if ((stateOf(ws)?.tokenMintedAt ?? 0) < before) safeClose(ws, CloseCode.TOKEN_EXPIRED, "token revoked");
		}
	}

	/** A device removed through the API no longer holds messages back. */
	async forgetDevice(at: ShardAddress, userId: string, deviceId: string): Promise<void> {
		const child = await this.childHolding(at, userId);
		if (child) return child.stub.forgetDevice(child.at, userId, deviceId);
		const uid = this.store.uidOf.get(userId);
		const user = uid === undefined ? undefined : this.store.user(uid);
		if (uid === undefined || !user || !deviceOf(user, deviceId)) return;
		delete user.dev[deviceId];
		this.store.devicesRemoved();
		this.store.touch(uid);
		this.prune(uid);
		this.store.flushUrgent();
	}

	// ---- sessions --------------------------------------------------------------------------------

	/**
	 * The shard that holds a user: undefined for this one, else the child that took the user over (a
	 * caller that still counts the shards from before a growth came here). Every per-user call asks.
	 */
	async childHolding(at: ShardAddress, userId: string): Promise<ShardAt | undefined> {
		await this.enter(at);
		return this.childFor(userId);
	}

	/** A device's WebSocket, handed over by the API worker after it checked the client token. */
	async connect(state: SocketState, shard: string, limits: ConnectLimits = {}): Promise<Response> {
		await this.enter({ appId: state.appId, shard });
		// A token minted before the user's last revocation (or deletion) opens nothing, creates nothing.
		if (state.tokenMintedAt < this.store.revokedBefore(state.userId)) {
			return new Response("client token revoked", { status: 401 });
		}
		const existing = this.store.uidOf.get(state.userId);
		const prior = existing === undefined ? undefined : this.store.user(existing);
		const maxDevices = Math.min(MAX_DEVICES_PER_USER, limits.devices ?? MAX_DEVICES_PER_USER);
		if (prior && !deviceOf(prior, state.deviceId) && Object.keys(prior.dev).length >= maxDevices) {
			return new Response("device limit reached", { status: 409 });
		}
		// The app's plan may cap a user's open connections (a reconnect of the same device replaces its own).
		if (limits.connections !== undefined) {
			const others = this.sessions.of(state.userId).filter((ws) => stateOf(ws)?.deviceId !== state.deviceId).length;
			if (others >= limits.connections) return new Response("connection limit reached", { status: 429 });
		}
		// A new user's record is written with its first device at hello (nothing depends on it before).
		const uid = this.store.ensureUser(state.userId);
		const record = this.store.user(uid);
		const known = record !== undefined && deviceOf(record, state.deviceId) !== undefined;
		// One live session per device: a reconnect replaces a half-dead earlier socket.
		for (const old of this.sessions.of(state.userId)) {
			if (stateOf(old)?.deviceId === state.deviceId) safeClose(old, CloseCode.REPLACED, "replaced by a newer connection");
		}
		const pair = new WebSocketPair();
		this.sessions.accept(pair[1], state);
		this.tokenDue = Math.min(this.tokenDue, state.tokenExp * 1000);
		await this.schedule();
		// The API worker registers a device in D1 only the first time this shard sees it.
		return new Response(null, { status: 101, webSocket: pair[0], headers: known ? {} : { "x-warbler-new-device": "1" } });
	}

	/** A frame from a device. */
	async frame(ws: WebSocket, state: SocketState, frame: ClientFrame): Promise<void> {
		if (frame.type === "ping") return send(ws, { type: "pong" });
		if (frame.type === "hello") return this.hello(ws, state, frame.last_seq);
		if (!state.ready) return send(ws, { type: "error", code: "hello_required", message: "Send hello before any other frame." });
		if (frame.type === "ack") return this.ack(ws, state, frame.seq);
		return this.event(ws, state, frame);
	}

	private async hello(ws: WebSocket, state: SocketState, lastSeq: number) {
		const uid = this.store.ensureUser(state.userId);
		const user = this.store.user(uid)!;
		const latest = this.store.get("seq", uid);
		// A position past the end comes from an earlier incarnation of this inbox (user erased).
		const from = lastSeq > latest ? 0 : lastSeq;
		const now = Date.now();
		const known = deviceOf(user, state.deviceId);
		const seenBefore = known?.[1] ?? 0;
		if (known) {
			known[1] = now;
			this.raiseDevice(known[0], from);
			this.store.touchLazily(uid);
		} else {
			setDevice(user, state.deviceId, [this.store.newDevice(from), now]);
			this.store.touch(uid);
		}
		this.raiseAcked(uid, from, now);
		// Ready from now on; replay() below saves the socket's state with it.
		state.ready = true;
		this.activity.hello(state.userId, now);
		send(ws, { type: "welcome", user_id: state.userId, device_id: state.deviceId, seq: latest });
		for (const gap of gapsAfter(user, from)) send(ws, { type: "gap", from: gap.from, to: gap.to });
		// Recalls of messages this device may have shown before it went away.
		for (const [id, seq, at] of user.rcl) {
			if (seq <= from && at >= seenBefore) send(ws, { type: "recall", id });
		}
		this.replay(ws, state, uid, from, REPLAY_WINDOW, now);
		this.prune(uid);
		this.store.flushUrgent();
		await this.schedule();
	}

	/**
	 * Sends a device up to `limit` messages of its inbox after seq `after`, in order. If more remain,
	 * the socket is marked as catching up (live frames wait) and the next window follows its acks.
	 */
	private replay(ws: WebSocket, state: SocketState, uid: number, after: number, limit: number, now: number) {
		let sentUpTo = 0;
		let sent = 0;
		let more = false;
		let collapsible = false;
		for (const it of this.inbox.get(uid) ?? []) {
			if (it.seq <= after) continue;
			if (sent >= limit) {
				more = true;
				break;
			}
			sendRaw(ws, frameOf(it.seq, it.target.tail ?? it.entry.tail));
			sent++;
			it.sent = true;
			sentUpTo = it.seq;
			if (it.entry.ck) collapsible = true;
			if (it.entry.tally) this.reports.add(it.entry.m);
		}
		if (sentUpTo > 0) this.advanceDelivered(uid, sentUpTo, now);
		// Collapse must know after a restart that these were shown: only then is the position written at once.
		if (collapsible) this.store.flushHot("delivered");
		if (more) state.replayedTo = Math.max(sentUpTo, after);
		else delete state.replayedTo;
		saveState(ws, state);
	}

	private async ack(ws: WebSocket, state: SocketState, seq: number) {
		const uid = this.store.uidOf.get(state.userId);
		if (uid === undefined) return;
		const user = this.store.user(uid)!;
		const now = Date.now();
		const upTo = Math.min(seq, this.store.get("seq", uid));
		const dev = deviceOf(user, state.deviceId);
		if (!dev) return; // acks come after hello, which registered the device
		dev[1] = now;
		this.raiseDevice(dev[0], upTo);
		this.store.touchLazily(uid);
		this.raiseAcked(uid, upTo, now);
		// A device catching up gets the next window: at most REPLAY_WINDOW unacked at a time.
		if (state.replayedTo !== undefined) {
			const room = upTo + REPLAY_WINDOW - state.replayedTo;
			if (room > 0) this.replay(ws, state, uid, state.replayedTo, room, now);
		}
		this.prune(uid);
		this.store.flushUrgent();
		await this.schedule();
	}

	private raiseDevice(n: number, upTo: number) {
		if (upTo > this.store.get("device", n)) this.store.set("device", n, upTo);
	}

	/** The lowest acked position over the user's known devices; 0 with none. */
	private minDeviceAcked(user: UserRecord): number {
		let min = Number.POSITIVE_INFINITY;
		for (const [n] of Object.values(user.dev)) min = Math.min(min, this.store.get("device", n));
		return Number.isFinite(min) ? min : 0;
	}

	/** The user's acked position (any device) moves up: counts of the messages it passes change. */
	private raiseAcked(uid: number, upTo: number, now: number) {
		const before = this.store.get("acked", uid);
		if (upTo <= before) return;
		this.store.set("acked", uid, upTo);
		logPosition(this.store.user(uid)!.alog, upTo, now);
		this.store.touchLazily(uid);
		for (const it of this.inbox.get(uid) ?? []) {
			if (it.seq > before && it.seq <= upTo && it.entry.tally) this.reports.add(it.entry.m);
		}
	}

	private async event(ws: WebSocket, state: SocketState, frame: Extract<ClientFrame, { type: "event" }>) {
		const uid = this.store.uidOf.get(state.userId);
		const now = Date.now();
		const found = uid === undefined ? undefined : this.targetOf(frame.id, uid);
		const user = uid === undefined ? undefined : this.store.user(uid);
		const status = found && user ? targetStatus(found.entry, found.target, user, this.positions(uid!), now) : undefined;
		if (!found || !user || status === "recalled" || status === "expired" || status === "capped" || status === "dropped") {
			send(ws, { type: "error", code: "unknown_message", message: `No message ${frame.id} in this inbox.` });
			return;
		}
		const t = found.target;
		if (this.engaged.length < MAX_ENGAGED_PER_FLUSH) {
			if (t.op === undefined) this.engaged.push({ messageId: found.entry.m, userId: state.userId, kind: "opened", at: now });
			if (frame.name === "clicked" && t.cl === undefined) {
				this.engaged.push({ messageId: found.entry.m, userId: state.userId, kind: "clicked", at: now });
			}
		}
		t.op ??= now;
		if (frame.name === "clicked") t.cl ??= now;
		this.store.changed(found.entry);
		if (found.entry.tally) this.reports.add(found.entry.m);
		// Learn when this user engages, in their own time zone, for optimal send times.
		const hour = String(localHourOfWeek(now, user.tz ?? "UTC"));
		user.eng[hour] = (user.eng[hour] ?? 0) + 1;
		this.store.touchLazily(uid!);
		await this.schedule();
	}

	/** A closed socket's device was last seen now. */
	closed(state: SocketState | null): void {
		if (!state?.ready) return;
		this.activity.closed();
		const uid = this.store.uidOf.get(state.userId);
		const record = uid === undefined ? undefined : this.store.user(uid);
		const dev = record ? deviceOf(record, state.deviceId) : undefined;
		if (uid === undefined || !dev) return;
		dev[1] = Date.now();
		this.store.touchLazily(uid);
	}

	// ---- upkeep: one alarm, many duties ------------------------------------------------------------

	async alarm(): Promise<void> {
		this.alarmAt = null;
		const now = Date.now();
		await this.release(now);
		await this.fallBack(now);
		this.expire(now);
		if ((this.store.nextRetirement() ?? Number.POSITIVE_INFINITY) <= now) this.retireEntries(now);
		this.pruneHistory(now);
		if (this.tokenDue <= now) this.closeExpiredTokens(now);
		await this.flush(now);
		await this.schedule();
	}

	/** Entries past their receipts' retention go; their final counts stay in the statistics. */
	private retireEntries(now: number) {
		const tally = new HourTally();
		for (const e of this.store.retiringEntries(now)) if (e.p >= 0) this.countInto(tally.of(e), e, now);
		this.store.foldStats(tally.list());
		this.store.deleteRetiredEntries(now);
	}

	/** Gap and recall records older than 30 days go, at most once an hour. */
	private pruneHistory(now: number) {
		const last = Number(this.store.meta("history_pruned_at") ?? "0");
		if (now - last < 3600_000) return;
		this.store.setMeta("history_pruned_at", String(now));
		this.store.users.forEach((user, uid) => {
			if (!user || user.gone) return;
			const g = user.gaps.length;
			const r = user.rcl.length;
			user.gaps = user.gaps.filter((x) => x[2] > now - HISTORY_MS);
			user.rcl = user.rcl.filter((x) => x[2] > now - HISTORY_MS);
			if (user.gaps.length !== g || user.rcl.length !== r) this.store.touch(uid);
		});
	}

	/** Release times changed outside the shard (tests): the timers are rebuilt from the entries. */
	holdsChanged(): void {
		this.holds = new MinHeap();
		for (const e of this.live.values()) {
			for (const t of e.t) if (t.o === "held" && t.h !== undefined) this.holds.push(t.h, { entry: e, target: t });
		}
	}

	/** Socket attachments changed outside the shard (tests): the next alarm looks at every token again. */
	tokensChanged(): void {
		this.tokenDue = 0;
	}

	private closeExpiredTokens(now: number) {
		this.tokenDue = Number.POSITIVE_INFINITY;
		for (const ws of this.sessions.all()) {
			const state = stateOf(ws);
			if (!state) continue;
			if (state.tokenExp * 1000 <= now) safeClose(ws, CloseCode.TOKEN_EXPIRED, "token expired");
			else this.tokenDue = Math.min(this.tokenDue, state.tokenExp * 1000);
		}
	}

	/** Writes what changed and reports changed counts to the ledgers (absolute, so a repeat is harmless). */
	async flush(now = Date.now()): Promise<void> {
		const lazy = now - this.lastLazyFlush >= LAZY_FLUSH_MS;
		this.store.flush(lazy);
		this.activity.flush(now);
		if (lazy) this.lastLazyFlush = now;
		const reports = [...this.reports];
		this.reports.clear();
		await this.report(reports);
		if (this.engaged.length > 0) {
			const engaged = this.engaged;
			this.engaged = [];
			await emitEngagements(this.env, this.appId, engaged);
		}
	}

	/** Absolute counts of these messages to their ledgers; what fails is reported again at the next flush. */
	private async report(messages: string[]) {
		const appId = this.appId;
		if (messages.length === 0) return;
		this.rev = Math.max(this.rev + 1, Date.now() * 1000);
		const results = await Promise.allSettled(
			messages.map((m) => ledgerFor(this.env, appId, m).shardCounts(this.name, this.counts(m), this.rev)),
		);
		results.forEach((r, i) => {
			if (r.status === "rejected") this.reports.add(messages[i]!);
		});
	}

	/** Held messages whose time has come go into their inboxes now. */
	private async release(now: number) {
		const jobs: FallbackJob[] = [];
		const placed = new Set<EntryBody>();
		for (const { entry: e, target: t } of this.holds.popUntil(now)) {
			if (t.o !== "held") continue;
			if ((t.h ?? 0) > now) {
				this.holds.push(t.h!, { entry: e, target: t }); // moved later meanwhile
				continue;
			}
			const user = this.store.user(t.u);
			if (!user || user.gone || e.rc !== undefined) continue;
			if (e.x <= now) {
				t.o = "expired";
				delete t.h;
			} else {
				this.place(e, t, now);
				placed.add(e);
				// Held past the fan-out: this shard owns the vendor push now.
				if (e.channels === "vendor" || e.channels === "all" || (e.channels === "auto" && !t.w)) {
					jobs.push({ kind: "fallback", appId: this.appId, userId: user.id, messageId: e.m });
				}
			}
			this.store.changed(e);
			if (e.tally) this.reports.add(e.m);
		}
		// A released target's seq is written before anything else can happen (a second release would repeat it).
		for (const e of placed) this.store.writeEntry(e);
		this.store.flushUrgent();
		if (jobs.length) await this.env.VENDOR.sendBatch(jobs.map((body) => ({ body })));
	}

	/**
	 * Connected devices got it but none acked in the app's window: push to the user's vendor devices.
	 * What was checked is remembered as one position, not per target.
	 */
	private async fallBack(now: number) {
		const due = this.fallbacks.popUntil(now);
		if (due.length === 0) return;
		const jobs: FallbackJob[] = [];
		for (const { entry: e, target: t } of due) {
			if (t.fd === undefined || t.fd <= this.fallbackThrough) continue;
			const user = this.store.user(t.u);
			if (!user || user.gone || e.rc !== undefined) continue;
			const status = targetStatus(e, t, user, this.positions(t.u), now);
			if (status === "delivered" || status === "queued") {
				jobs.push({ kind: "fallback", appId: this.appId, userId: user.id, messageId: e.m });
			}
		}
		if (jobs.length) await this.env.VENDOR.sendBatch(jobs.map((body) => ({ body })));
		this.fallbackThrough = now;
		this.store.setMeta("fallback_through", String(now));
	}

	/** Entries past their TTL leave memory; inboxes that still held them record a gap. */
	private expire(now: number) {
		const due = this.expiries.popUntil(now);
		if (due.length === 0) return;
		for (const e of due) {
			const key = entryKey(e.m, e.p);
			if (this.live.get(key) !== e) continue;
			this.live.delete(key);
			const parts = this.byMessage.get(e.m)?.filter((p) => p !== e) ?? [];
			if (parts.length) this.byMessage.set(e.m, parts);
			else this.byMessage.delete(e.m);
			this.reachedIndex.delete(e.m);
			for (const t of e.t) {
				if (t.o === "held") {
					t.o = "expired";
					delete t.h;
					this.store.changed(e);
				}
				const items = this.inbox.get(t.u);
				const i = items?.findIndex((it) => it.entry === e) ?? -1;
				if (items && i >= 0) {
					items.splice(i, 1);
					this.addGap(t.u, t.s, now);
				}
			}
			if (e.tally) this.reports.add(e.m);
		}
		this.store.setMeta("expired_through", String(now));
		this.store.flushUrgent();
	}

	/** Sets the one alarm to the earliest duty; skips the call when the alarm is already early enough. */
	private async schedule(extra?: number) {
		const now = Date.now();
		let at = extra ?? Number.POSITIVE_INFINITY;
		if (this.store.dirty || this.reports.size > 0) at = Math.min(at, now + FLUSH_DELAY_MS);
		if (this.store.lazyDirty) at = Math.min(at, this.lastLazyFlush + LAZY_FLUSH_MS);
		at = Math.min(at, this.expiries.peek(), this.holds.peek(), this.fallbacks.peek(), this.tokenDue);
		const retire = this.store.nextRetirement();
		if (retire !== undefined) at = Math.min(at, retire);
		if (!Number.isFinite(at)) return;
		if (this.alarmAt !== null && this.alarmAt <= at) return;
		this.alarmAt = at;
		this.store.counters.setAlarm++;
		await this.ctx.storage.setAlarm(at);
	}

	// ---- growth (growth.ts) ------------------------------------------------------------------------

	/**
	 * Every call starts here: the shard learns who it is and, if it is a child that has not yet taken
	 * its users from its parent, takes them now, before anything else runs.
	 */
	private async enter(at: ShardAddress): Promise<void> {
		this.remember(at.appId, at.shard);
		if (this.settled) return;
		let adopted = false;
		await this.ctx.blockConcurrencyWhile(async () => {
			if (this.settled) return;
			const index = indexOfName(this.name);
			if (index > 0 && this.store.meta("ready") !== "1") {
				const { parent, range } = parentOf(index);
				const from = this.shardAt(parent);
				// (RPC types widen tuples; the snapshot is exactly what exportTo built)
				this.adopt((await from.stub.exportTo(from.at, range)) as ShardSnapshot);
				this.store.setMeta("ready", "1");
				this.store.flush(true);
				adopted = true;
			}
			this.settled = true;
		});
		if (!adopted) return;
		await this.schedule();
		// Sent only once the adoption is durable (output gate). If it fails, the parent keeps an idle copy.
		const { parent, range } = parentOf(indexOfName(this.name));
		const from = this.shardAt(parent);
		await from.stub.exported(from.at, range.index).catch((err: unknown) => {
			console.error(`shard ${this.name}: parent keeps its copy of the moved users:`, String(err));
		});
	}

	/**
	 * Hands the users of `range` to the child shard that asked: a snapshot of them and of their part
	 * of every entry, kept until the child confirms; from now on their calls are forwarded and their
	 * sockets are closed (they reconnect to the child). Asked again, the same snapshot comes back.
	 */
	async exportTo(at: ShardAddress, range: ShardRange): Promise<ShardSnapshot> {
		await this.enter(at);
		const kept = this.store.loadExport(range.index);
		if (kept) return kept;
		if (this.moved.some((r) => r.index === range.index)) {
			// Handed over and confirmed: a child that asks again has lost nothing it needs from here.
			return { users: [], entries: [], fallbackThrough: this.fallbackThrough };
		}
		const users: MovedUser[] = [];
		const position = new Map<number, number>();
		for (const [id, uid] of this.store.uidOf) {
			if (!inRange(id, range)) continue;
			const record = this.store.user(uid)!;
			const devices: Record<string, number> = {};
			for (const [deviceId, [n]] of Object.entries(record.dev)) {
				Object.defineProperty(devices, deviceId, { value: this.store.get("device", n), enumerable: true });
			}
			position.set(uid, users.length);
			users.push({ record, devices, ...this.positions(uid) });
		}
		const entries: EntryBody[] = [];
		const all = new Map(this.store.allEntries().map((e) => [entryKey(e.m, e.p), e]));
		for (const [key, e] of this.live) all.set(key, e); // memory is newer than the last flush
		for (const e of all.values()) {
			if (e.p < 0) {
				entries.push(e); // a recall that came before its message: the child must know it too
				continue;
			}
			const moving = e.t.filter((t) => position.has(t.u));
			if (moving.length === 0) continue;
			entries.push({ ...e, t: moving.map((t) => ({ ...t, u: position.get(t.u)! })) });
			e.t = e.t.filter((t) => !position.has(t.u));
			this.store.changed(e);
			if (e.tally) this.reports.add(e.m);
		}
		const revoked = [...this.store.revocationEntries()].filter(([id]) => inRange(id, range));
		const snapshot: ShardSnapshot = { users, entries, fallbackThrough: this.fallbackThrough, revoked };
		this.reachedIndex.clear(); // targets moved out of entries
		this.store.saveExport(range.index, snapshot);
		for (const uid of position.keys()) {
			const id = this.store.user(uid)!.id;
			for (const ws of this.sessions.of(id)) safeClose(ws, CloseCode.MOVED, "inbox moved to another shard; reconnect");
			this.inbox.delete(uid);
			this.store.retire(uid);
		}
		this.moved.push(range);
		this.store.setMeta("moved", JSON.stringify(this.moved));
		this.store.flush(true);
		await this.schedule();
		return snapshot;
	}

	/** Takes this shard's users from its parent now if it has not yet; how many users it holds. */
	async settle(at: ShardAddress): Promise<number> {
		await this.enter(at);
		return this.store.uidOf.size;
	}

	/** The child stored its users: the copy kept for it goes. */
	async exported(at: ShardAddress, child: number): Promise<void> {
		await this.enter(at);
		this.store.dropExport(child);
	}

	/** A parent's snapshot becomes this shard's users, with their inboxes, positions and timers. */
	private adopt(s: ShardSnapshot) {
		const uids = this.store.adoptUsers(s.users);
		for (const [userId, before] of s.revoked ?? []) this.store.revoke(userId, before);
		this.fallbackThrough = Math.max(this.fallbackThrough, s.fallbackThrough);
		this.store.setMeta("fallback_through", String(this.fallbackThrough));
		const now = Date.now();
		this.store.setMeta("expired_through", String(now));
		for (const e of s.entries) {
			const entry: EntryBody = { ...e, t: e.t.map((t) => ({ ...t, u: uids[t.u]! })) };
			this.store.insertEntry(entry);
			if (entry.x > now) this.index(entry);
			if (entry.tally) this.reports.add(entry.m);
		}
		for (const uid of uids) this.inbox.get(uid)?.sort((a, b) => a.seq - b.seq);
	}

	/** The child shard that took this user over, if one did. */
	private childFor(userId: string) {
		const range = this.moved.find((r) => inRange(userId, r));
		return range ? this.shardAt(range.index) : undefined;
	}

	/**
	 * Splits items between this shard and the children that took some of their users over: undefined
	 * when all are here, else the ones here and the calls already made for the others.
	 */
	private forward<T, R>(
		items: T[],
		userOf: (item: T) => string,
		call: (child: ShardAt, items: T[]) => Promise<R>,
	): [T[], Promise<R>[]] | undefined {
		if (this.moved.length === 0) return undefined;
		const mine: T[] = [];
		const theirs = new Map<number, T[]>();
		for (const item of items) {
			const range = this.moved.find((r) => inRange(userOf(item), r));
			if (!range) mine.push(item);
			else theirs.set(range.index, [...(theirs.get(range.index) ?? []), item]);
		}
		if (theirs.size === 0) return undefined;
		return [mine, [...theirs].map(([index, some]) => call(this.shardAt(index), some))];
	}

	private shardAt(index: number): ShardAt {
		return { at: { appId: this.appId, shard: shardName(this.appId, index) }, stub: shardStub(this.env, this.appId, index) };
	}

	// ---- helpers ---------------------------------------------------------------------------------

	/** Holds an entry in memory, by key and by message. */
	private track(e: EntryBody) {
		this.expiries.push(e.x, e);
		this.live.set(entryKey(e.m, e.p), e);
		const parts = this.byMessage.get(e.m);
		if (parts) parts.push(e);
		else this.byMessage.set(e.m, [e]);
	}

	/** A stored entry, at start: held in memory and put back into its users' inboxes. */
	private index(e: EntryBody) {
		this.track(e);
		for (const t of e.t) {
			if (t.h !== undefined && t.o === "held") this.holds.push(t.h, { entry: e, target: t });
			if (t.fd !== undefined && t.fd > this.fallbackThrough) this.fallbacks.push(t.fd, { entry: e, target: t });
			if (t.s === 0) continue;
			const user = this.store.user(t.u);
			if (!user || user.gone) continue;
			// Recovery: a seq in an entry was given out, whatever the last written position says.
			if (t.s > this.store.get("seq", t.u)) this.store.set("seq", t.u, t.s);
			if (e.rc !== undefined) continue;
			if (user.skip.includes(t.s) || gapOf(user.gaps, t.s)) continue;
			if (t.s <= this.minDeviceAcked(user)) continue;
			const item: Item = { seq: t.s, entry: e, target: t, sent: Boolean(t.w) || t.s <= this.store.get("delivered", t.u) };
			this.itemsOf(t.u).push(item);
		}
	}

	private itemsOf(uid: number): Item[] {
		let items = this.inbox.get(uid);
		if (!items) {
			items = [];
			this.inbox.set(uid, items);
		}
		return items;
	}

	/** Messages every known device has acked leave the inbox. With no known device, TTL decides. */
	private prune(uid: number) {
		const user = this.store.user(uid);
		const items = this.inbox.get(uid);
		if (!user || !items?.length) return;
		const floor = this.minDeviceAcked(user);
		if (floor <= 0) return;
		let n = 0;
		while (n < items.length && items[n]!.seq <= floor) n++;
		if (n > 0) items.splice(0, n);
	}

	private positions(uid: number): Positions {
		return {
			seq: this.store.get("seq", uid),
			delivered: this.store.get("delivered", uid),
			acked: this.store.get("acked", uid),
		};
	}

	/** Whether a recipient was ever delivered / acked (counted apart from its current status). */
	private flags(t: Target, user: UserRecord | undefined): { delivered: boolean; acked: boolean } {
		if (t.s === 0 || !user) return { delivered: false, acked: false };
		if (user.skip.includes(t.s)) return { delivered: false, acked: false };
		const pos = this.positions(t.u);
		const gap = gapOf(user.gaps, t.s);
		const acked = gap ? t.s <= gap[3] : t.s <= pos.acked;
		const delivered = acked || Boolean(t.w) || t.s <= (gap ? gap[4] : pos.delivered) || t.op !== undefined;
		return { delivered, acked };
	}

	private partsOf(messageId: string): EntryBody[] {
		return (this.byMessage.get(messageId) ?? this.store.entriesOf(messageId)).filter((e) => e.p >= 0);
	}

	/** When a recall reached this shard before the message did. */
	private recalledAt(messageId: string): number | undefined {
		const parts = this.byMessage.get(messageId) ?? this.store.entriesOf(messageId);
		return parts.find((e) => e.p < 0)?.rc;
	}

	/**
	 * An earlier part of this message that already reached the user (a retried job, another page).
	 * A broadcast's parts arrive together: for the few messages delivered last, the users they reached
	 * are indexed, so each target is one lookup instead of a scan of every earlier part. A message not
	 * held in memory (expired, or before a restart) looks in its stored parts, read once per delivery.
	 */
	private partWith(messageId: string, uid: number, stored: () => EntryBody[]): EntryBody | undefined {
		const live = this.byMessage.get(messageId);
		if (!live) return stored().find((e) => e.p >= 0 && e.t.some((t) => t.u === uid));
		let index = this.reachedIndex.get(messageId);
		if (!index) {
			index = new Map();
			for (const e of live) if (e.p >= 0) for (const t of e.t) if (!index.has(t.u)) index.set(t.u, e);
			this.reachedIndex.set(messageId, index);
			if (this.reachedIndex.size > REACHED_INDEX_MESSAGES) {
				const oldest = this.reachedIndex.keys().next().value;
				if (oldest !== undefined) this.reachedIndex.delete(oldest);
			}
		}
		return index.get(uid);
	}

	private targetOf(messageId: string, uid: number): { entry: EntryBody; target: Target } | undefined {
		for (const entry of this.partsOf(messageId)) {
			const target = entry.t.find((t) => t.u === uid);
			if (target) return { entry, target };
		}
		return undefined;
	}

	private resultFor(e: EntryBody, userId: string, now: number, duplicate: boolean): ShardResult {
		const uid = this.store.uidOf.get(userId);
		const t = uid === undefined ? undefined : e.t.find((x) => x.u === uid);
		if (!t) return { userId, outcome: e.rc !== undefined ? "recalled" : "expired", duplicate };
		const status = targetStatus(e, t, this.store.user(t.u), this.positions(t.u), now);
		const r: ShardResult = { userId, outcome: outcomeOf(status, t), duplicate };
		if (t.s > 0) r.seq = t.s;
		return r;
	}
}

function outcomeOf(status: RecipientStatus, t: Target): ShardResult["outcome"] {
	if (t.o === "held") return "held";
	if (status === "queued" || status === "expired" || status === "recalled" || status === "capped" || status === "dropped") {
		return status;
	}
	if (status === "failed") return "expired";
	return "delivered";
}

function emptyEntry(messageId: string, expiresAt: number): EntryBody {
	return {
		m: messageId,
		p: -1,
		tail: "",
		at: Date.now(),
		x: expiresAt,
		tally: false,
		live: false,
		channels: "ws",
		cap: 0,
		t: [],
	};
}

function gapsAfter(user: UserRecord, from: number): { from: number; to: number }[] {
	const out: { from: number; to: number }[] = [];
	const seqs: number[] = [];
	for (const [a, b] of user.gaps) for (let s = Math.max(a, from + 1); s <= b; s++) seqs.push(s);
	seqs.sort((a, b) => a - b);
	for (const seq of seqs) {
		const last = out.at(-1);
		if (last && last.to === seq - 1) last.to = seq;
		else if (!last || last.to < seq) out.push({ from: seq, to: seq });
	}
	return out;
}

/** The part of a message frame after its seq, encoded once: `,"id":…,"content":…,"sent_at":…}`. */
export function frameTail(messageId: string, content: MessageContent, sentAt: string): string {
	return `,${JSON.stringify({ id: messageId, content, sent_at: sentAt }).slice(1)}`;
}

export function frameOf(seq: number, tail: string): string {
	return `{"type":"message","seq":${seq}${tail}`;
}

export { RECEIPT_GRACE_MS };
