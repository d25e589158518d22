import { DurableObject } from "cloudflare:workers";
import type { FallbackJob } from "../../core/dispatch/jobs.js";
import { parseClientFrame } from "../../core/inbox/frames.js";
import { INBOX_SCHEMA } from "../../core/inbox/schema.js";
import {
	type DeliveryPolicy,
	type DeliveryResult,
	HeldDeliveryJson,
	type InboxDelivery,
	type InboxRecipientView,
	type RecipientTally,
	type SocketState,
} from "../../core/inbox/types.js";
import { ledgerFor } from "../../core/objects/ledger.js";
import { MetaTable } from "../../core/objects/meta.js";
import { optimalSendTime } from "../../core/rules/optimal.js";
import { capExceeded, LONGEST_CAP_WINDOW_MS, quietHoursDecision } from "../../core/rules/settings.js";
import { localHourOfWeek } from "../../core/rules/time.js";
import { type ClientFrame, CloseCode, PING_FRAME, PONG_FRAME, type ServerFrame } from "../../protocol/frames.js";
import type { RecipientStatus } from "../../protocol/message.js";

/** How long a recipient's receipt outlives its message: idempotency and the recipient view. */
const RECEIPT_GRACE_MS = 7 * 24 * 3600 * 1000;
/** Gap and recall records older than this are pruned. */
const HISTORY_MS = 30 * 24 * 3600 * 1000;
/** State changes reach the message ledgers at most this long after they happen. */
const FLUSH_DELAY_MS = 500;
const MAX_BAD_FRAMES = 10;
const OPEN = 1;

interface InboxRow {
	seq: number;
	message_id: string;
	frame: string;
	expires_at: number;
	[key: string]: SqlStorageValue;
}

interface ReceiptRow {
	message_id: string;
	seq: number | null;
	status: RecipientStatus;
	delivered_at: number | null;
	acked_at: number | null;
	opened_at: number | null;
	clicked_at: number | null;
	[key: string]: SqlStorageValue;
}

/**
 * One user's durable inbox and live sessions. Every message gets the next seq and is written to
 * SQLite before any frame leaves; devices resume from their last seq; acks are cumulative per device.
 */
export class UserInbox extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	private readonly meta: MetaTable;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		this.sql.exec(INBOX_SCHEMA);
		this.meta = new MetaTable(this.sql);
		migrateInbox(this.sql);
		// Keep-alive pings are answered by the runtime without waking a hibernated object.
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
	}

	// ---- RPC from the Worker ------------------------------------------------------------------

	/** Stores a message (idempotent on its id) and sends it to every ready socket. */
	async deliver(d: InboxDelivery): Promise<DeliveryResult> {
		this.remember(d.appId, d.userId);
		if (d.policy) this.meta.set("timezone", d.policy.timeZone);
		const now = Date.now();
		const existing = this.receipt(d.messageId);
		if (existing) {
			// A redelivered job: report where the first copy stands, and store nothing new.
			return { outcome: outcomeOf(existing.status), seq: existing.seq ?? undefined, duplicate: true };
		}
		const keepUntil = d.expiresAt + RECEIPT_GRACE_MS;
		if (d.expiresAt <= now) {
			this.sql.exec(
				"INSERT INTO receipts (message_id, seq, status, keep_until, dirty) VALUES (?, NULL, 'expired', ?, 0)",
				d.messageId,
				keepUntil,
			);
			return { outcome: "expired" };
		}
		if (d.policy) {
			const verdict = this.applyPolicy(d.policy, now);
			if (verdict === "capped" || verdict === "dropped") {
				// The fan-out reports this outcome to the ledger itself.
				this.sql.exec(
					"INSERT INTO receipts (message_id, seq, status, keep_until, dirty) VALUES (?, NULL, ?, ?, 0)",
					d.messageId,
					verdict,
					keepUntil,
				);
				return { outcome: verdict };
			}
			if (verdict !== undefined && verdict < d.expiresAt) {
				this.sql.exec(
					"INSERT INTO receipts (message_id, seq, status, keep_until, dirty, tally) VALUES (?, NULL, 'queued', ?, 0, ?)",
					d.messageId,
					keepUntil,
					d.tally === false ? 0 : 1,
				);
				this.sql.exec(
					"INSERT INTO held (message_id, release_at, delivery) VALUES (?, ?, ?)",
					d.messageId,
					verdict,
					HeldDeliveryJson.stringify(d),
				);
				await this.scheduleAlarm();
				return { outcome: "held" };
			}
		}
		return this.store(d, now);
	}

	/** Writes the message into the inbox (next seq) and sends it to every ready socket. */
	private async store(d: InboxDelivery, now: number, released = false): Promise<DeliveryResult> {
		const keepUntil = d.expiresAt + RECEIPT_GRACE_MS;
		const seq = this.nextSeq();
		const frame: ServerFrame = { type: "message", seq, id: d.messageId, content: d.content, sent_at: d.sentAt };
		const frameJson = JSON.stringify(frame);
		if (d.collapseKey) this.collapse(d.collapseKey);
		this.sql.exec(
			"INSERT INTO inbox (seq, message_id, frame, expires_at, collapse_key) VALUES (?, ?, ?, ?, ?)",
			seq,
			d.messageId,
			frameJson,
			d.expiresAt,
			d.collapseKey ?? null,
		);
		this.sql.exec(
			`INSERT INTO receipts (message_id, seq, status, keep_until, dirty, tally) VALUES (?, ?, 'queued', ?, 0, ?)
			 ON CONFLICT (message_id) DO UPDATE SET seq = excluded.seq, status = 'queued'`,
			d.messageId,
			seq,
			keepUntil,
			d.tally === false ? 0 : 1,
		);
		if (d.policy && d.policy.category !== "transactional") {
			this.sql.exec("INSERT INTO sends (at, category) VALUES (?, ?)", now, d.policy.category ?? null);
		}
		this.enforceCap(d.cap, now);
		const sentTo = d.live ? this.broadcast(frameJson) : 0;
		let outcome: DeliveryResult["outcome"] = "queued";
		if (sentTo > 0) {
			this.markSent(seq);
			// The fan-out reports this delivery to the ledger itself: no flush needed for it.
			// The fan-out reports a direct delivery to the ledger; a released one is reported by the flush.
			this.sql.exec(
				"UPDATE receipts SET status = 'delivered', delivered_at = ?, dirty = ? WHERE message_id = ?",
				now,
				released ? 1 : 0,
				d.messageId,
			);
			outcome = "delivered";
			if (d.fallbackAfterMs !== undefined) {
				this.sql.exec("INSERT OR IGNORE INTO fallbacks (message_id, due_at) VALUES (?, ?)", d.messageId, now + d.fallbackAfterMs);
			}
		}
		if (released && d.policy) {
			// Held past the fan-out: this inbox owns the vendor push now.
			const channels = d.policy.channels;
			if (channels === "vendor" || channels === "all" || (channels === "auto" && sentTo === 0)) {
				await this.env.VENDOR.send({
					kind: "fallback",
					appId: d.appId,
					userId: d.userId,
					messageId: d.messageId,
				} satisfies FallbackJob);
			}
		}
		await this.scheduleAlarm();
		return { outcome, seq };
	}

	/**
	 * The app's rules for one delivery: "capped" / "dropped", a release time to hold it until, or
	 * undefined to deliver now. Transactional messages bypass caps and quiet hours.
	 */
	private applyPolicy(p: DeliveryPolicy, now: number): "capped" | "dropped" | number | undefined {
		this.sql.exec("DELETE FROM sends WHERE at <= ?", now - LONGEST_CAP_WINDOW_MS);
		if (p.caps.length && p.category !== "transactional") {
			const sent = this.sql.exec<{ at: number; category: string | null }>("SELECT at, category FROM sends").toArray();
			if (capExceeded(sent, p.caps, p.category, now).exceeded) return "capped";
		}
		let releaseAt: number | undefined;
		const quiet = quietHoursDecision(new Date(now), p.timeZone, p.quietHours, {
			category: p.category,
			respect_quiet_hours: p.respectQuietHours,
		});
		if (quiet.action === "drop") return "dropped";
		if (quiet.action === "hold") releaseAt = quiet.until.getTime();
		if (p.optimal) {
			const best = optimalSendTime({
				histogram: this.histogram(),
				timeZone: p.timeZone,
				now: new Date(releaseAt ?? now),
				withinHours: p.optimal.withinHours,
				fallbackLocalTime: p.optimal.fallbackLocalTime,
			}).getTime();
			if (best > now + 1000) releaseAt = best;
		}
		return releaseAt;
	}

	private histogram(): number[] {
		const h = new Array<number>(168).fill(0);
		for (const r of this.sql.exec<{ hour: number; n: number }>("SELECT hour, n FROM engagement")) h[r.hour] = r.n;
		return h;
	}

	/** Held messages whose time has come go into the inbox now. */
	private async release(now: number) {
		const due = [
			...this.sql.exec<{ message_id: string; delivery: string }>(
				"SELECT message_id, delivery FROM held WHERE release_at <= ?",
				now,
			),
		];
		for (const row of due) {
			this.sql.exec("DELETE FROM held WHERE message_id = ?", row.message_id);
			const receipt = this.receipt(row.message_id);
			if (receipt?.status !== "queued") continue; // recalled meanwhile
			const d = HeldDeliveryJson.parse(row.delivery);
			if (d.expiresAt <= now) {
				this.sql.exec("UPDATE receipts SET status = 'expired', dirty = 1 WHERE message_id = ?", d.messageId);
				continue;
			}
			await this.store(d, now, true);
		}
	}

	/** Removes a message from the inbox and tells connected devices. */
	async recall(appId: string, userId: string, messageId: string): Promise<boolean> {
		this.remember(appId, userId);
		const now = Date.now();
		const receipt = this.receipt(messageId);
		if (!receipt) {
			// Recalled before it arrived: a late delivery of it must not land.
			this.sql.exec(
				"INSERT INTO receipts (message_id, seq, status, keep_until, dirty) VALUES (?, NULL, 'recalled', ?, 0)",
				messageId,
				now + RECEIPT_GRACE_MS,
			);
			return false;
		}
		if (receipt.status === "recalled") return false;
		this.sql.exec("DELETE FROM inbox WHERE message_id = ?", messageId);
		this.sql.exec("DELETE FROM fallbacks WHERE message_id = ?", messageId);
		this.sql.exec("DELETE FROM held WHERE message_id = ?", messageId);
		this.sql.exec("UPDATE receipts SET status = 'recalled', dirty = 1 WHERE message_id = ?", messageId);
		if (receipt.seq !== null) {
			this.sql.exec("INSERT OR REPLACE INTO recalls (message_id, seq, at) VALUES (?, ?, ?)", messageId, receipt.seq, now);
		}
		this.broadcast(JSON.stringify({ type: "recall", id: messageId } satisfies ServerFrame));
		await this.scheduleAlarm();
		return true;
	}

	/** Open WebSocket sessions. */
	presence(): number {
		return this.ctx.getWebSockets().filter((ws) => ws.readyState === OPEN).length;
	}

	recipient(messageId: string): InboxRecipientView | null {
		const r = this.receipt(messageId);
		if (!r) return null;
		const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
		const view: InboxRecipientView = { user_id: this.meta.get("user_id") ?? "", status: r.status };
		if (r.delivered_at !== null) view.delivered_at = iso(r.delivered_at);
		if (r.acked_at !== null) view.acked_at = iso(r.acked_at);
		if (r.opened_at !== null) view.opened_at = iso(r.opened_at);
		if (r.clicked_at !== null) view.clicked_at = iso(r.clicked_at);
		return view;
	}

	/** The latest seq given out, and how many messages the inbox still holds. */
	stats(): { seq: number; held: number } {
		const held = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM inbox").one().n;
		return { seq: this.latestSeq(), held };
	}

	/** DELETE /v1/users/{id}: closes every session and erases all of this user's state. */
	async erase(): Promise<void> {
		for (const ws of this.ctx.getWebSockets()) safeClose(ws, CloseCode.USER_DELETED, "user deleted");
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
		this.sql.exec(INBOX_SCHEMA);
	}

	/** A device removed through the API no longer holds messages back. */
	forgetDevice(deviceId: string): void {
		this.sql.exec("DELETE FROM devices WHERE device_id = ?", deviceId);
		this.pruneAcked();
	}

	// ---- WebSocket sessions -------------------------------------------------------------------

	override async fetch(request: Request): Promise<Response> {
		const state: SocketState = {
			appId: request.headers.get("x-warbler-app") ?? "",
			userId: request.headers.get("x-warbler-user") ?? "",
			deviceId: request.headers.get("x-warbler-device") ?? "",
			tokenExp: Number(request.headers.get("x-warbler-token-exp") ?? "0"),
			ready: false,
			badFrames: 0,
		};
		if (request.headers.get("upgrade") !== "websocket" || !state.appId || !state.userId || !state.deviceId) {
			return new Response("expected a websocket upgrade from the API worker", { status: 400 });
		}
		this.remember(state.appId, state.userId);
		// One live session per device: a reconnect replaces a half-dead earlier socket.
		for (const old of this.ctx.getWebSockets(state.deviceId))
			safeClose(old, CloseCode.REPLACED, "replaced by a newer connection");
		const pair = new WebSocketPair();
		const server = pair[1];
		this.ctx.acceptWebSocket(server, [state.deviceId]);
		server.serializeAttachment(state);
		await this.scheduleAlarm();
		return new Response(null, { status: 101, webSocket: pair[0] });
	}

	override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
		const state = ws.deserializeAttachment() as SocketState;
		if (state.tokenExp * 1000 <= Date.now()) {
			safeClose(ws, CloseCode.TOKEN_EXPIRED, "token expired");
			return;
		}
		const parsed = parseClientFrame(raw);
		if (!parsed.ok) {
			state.badFrames++;
			ws.serializeAttachment(state);
			send(ws, { type: "error", code: "invalid_frame", message: parsed.error });
			if (state.badFrames >= MAX_BAD_FRAMES) safeClose(ws, CloseCode.PROTOCOL_ERROR, "too many invalid frames");
			return;
		}
		if (state.badFrames) {
			state.badFrames = 0;
			ws.serializeAttachment(state);
		}
		const frame = parsed.frame;
		if (frame.type === "ping") return send(ws, { type: "pong" });
		if (frame.type === "hello") return this.hello(ws, state, frame.last_seq);
		if (!state.ready) {
			return send(ws, { type: "error", code: "hello_required", message: "Send hello before any other frame." });
		}
		if (frame.type === "ack") return this.ack(state.deviceId, frame.seq);
		return this.event(ws, frame);
	}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		const state = ws.deserializeAttachment() as SocketState | null;
		if (state?.ready) this.sql.exec("UPDATE devices SET last_seen = ? WHERE device_id = ?", Date.now(), state.deviceId);
		// Reciprocate so the client sees a clean close (1005/1006 cannot be sent back).
		safeClose(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
	}

	override async webSocketError(ws: WebSocket): Promise<void> {
		safeClose(ws, 1011, "socket error");
	}

	private hello(ws: WebSocket, state: SocketState, lastSeq: number) {
		const latest = this.latestSeq();
		// A position past the end comes from an earlier incarnation of this inbox (user erased).
		const from = lastSeq > latest ? 0 : lastSeq;
		const now = Date.now();
		const seenBefore =
			this.sql.exec<{ last_seen: number }>("SELECT last_seen FROM devices WHERE device_id = ?", state.deviceId).toArray()[0]
				?.last_seen ?? 0;
		this.sql.exec(
			`INSERT INTO devices (device_id, acked_seq, last_seen) VALUES (?, ?, ?)
			 ON CONFLICT (device_id) DO UPDATE SET acked_seq = max(acked_seq, excluded.acked_seq), last_seen = excluded.last_seen`,
			state.deviceId,
			from,
			now,
		);
		state.ready = true;
		ws.serializeAttachment(state);
		send(ws, { type: "welcome", user_id: state.userId, device_id: state.deviceId, seq: latest });
		for (const gap of this.gapsAfter(from)) send(ws, { type: "gap", from: gap.from, to: gap.to });
		// Recalls of messages this device may have shown before it went away.
		const recalls = this.sql.exec<{ message_id: string }>(
			"SELECT message_id FROM recalls WHERE seq <= ? AND at >= ? ORDER BY seq",
			from,
			seenBefore,
		);
		for (const r of recalls) {
			send(ws, { type: "recall", id: r.message_id });
		}
		let sentAny = false;
		for (const row of this.sql.exec<InboxRow>("SELECT seq, message_id, frame FROM inbox WHERE seq > ? ORDER BY seq", from)) {
			ws.send(row.frame);
			sentAny = true;
		}
		if (sentAny) {
			this.sql.exec(
				`UPDATE receipts SET status = 'delivered', delivered_at = ?, dirty = 1
				 WHERE status = 'queued' AND seq > ? AND message_id IN (SELECT message_id FROM inbox)`,
				now,
				from,
			);
			this.sql.exec("UPDATE inbox SET sent = 1 WHERE seq > ?", from);
			void this.scheduleAlarm();
		}
		this.pruneAcked();
	}

	private ack(deviceId: string, seq: number) {
		const now = Date.now();
		this.sql.exec(
			"UPDATE devices SET acked_seq = max(acked_seq, ?), last_seen = ? WHERE device_id = ?",
			Math.min(seq, this.latestSeq()),
			now,
			deviceId,
		);
		this.sql.exec(
			`UPDATE receipts SET status = CASE WHEN status IN ('queued', 'delivered') THEN 'acked' ELSE status END,
			   delivered_at = coalesce(delivered_at, ?), acked_at = ?, dirty = 1
			 WHERE acked_at IS NULL AND seq IS NOT NULL AND seq <= ? AND status NOT IN ('recalled', 'expired')`,
			now,
			now,
			seq,
		);
		this.pruneAcked();
		void this.scheduleAlarm();
	}

	private event(ws: WebSocket, frame: Extract<ClientFrame, { type: "event" }>) {
		const now = Date.now();
		const column = frame.name === "opened" ? "opened_at" : "clicked_at";
		const updated = this.sql.exec(
			`UPDATE receipts SET ${column} = coalesce(${column}, ?), opened_at = coalesce(opened_at, ?),
			   status = CASE WHEN status IN ('queued', 'delivered', 'acked') THEN 'opened' ELSE status END, dirty = 1
			 WHERE message_id = ? AND status NOT IN ('recalled', 'expired', 'failed')`,
			now,
			now,
			frame.id,
		).rowsWritten;
		if (updated === 0) {
			send(ws, { type: "error", code: "unknown_message", message: `No message ${frame.id} in this inbox.` });
			return;
		}
		// Learn when this user engages, in their own time zone, for optimal send times.
		const zone = this.meta.get("timezone") ?? "UTC";
		this.sql.exec(
			"INSERT INTO engagement (hour, n) VALUES (?, 1) ON CONFLICT (hour) DO UPDATE SET n = n + 1",
			localHourOfWeek(now, zone),
		);
		void this.scheduleAlarm();
	}

	// ---- Inbox upkeep -------------------------------------------------------------------------

	override async alarm(): Promise<void> {
		const now = Date.now();
		await this.release(now);
		this.expire(now);
		this.sql.exec("DELETE FROM receipts WHERE keep_until <= ?", now);
		this.sql.exec("DELETE FROM dropped WHERE at <= ?", now - HISTORY_MS);
		this.sql.exec("DELETE FROM recalls WHERE at <= ?", now - HISTORY_MS);
		for (const ws of this.ctx.getWebSockets()) {
			const state = ws.deserializeAttachment() as SocketState | null;
			if (state && state.tokenExp * 1000 <= now) safeClose(ws, CloseCode.TOKEN_EXPIRED, "token expired");
		}
		// A failed flush or enqueue throws: the alarm is retried by the runtime with backoff, nothing is lost.
		await this.fallBack(now);
		await this.flush();
		await this.scheduleAlarm();
	}

	/** Sends every changed receipt to its message's ledger. Absolute states: a repeat is harmless. */
	private async flush() {
		const appId = this.meta.get("app_id");
		const userId = this.meta.get("user_id");
		if (!appId || !userId) return;
		// Receipts of direct messages are read where they are: they only need their flag cleared.
		this.sql.exec("UPDATE receipts SET dirty = 0 WHERE dirty = 1 AND tally = 0");
		const dirty = [...this.sql.exec<ReceiptRow>("SELECT * FROM receipts WHERE dirty = 1 LIMIT 500")];
		await Promise.all(
			dirty.map(async (r) => {
				const tally: RecipientTally = {
					userId,
					status: r.status,
					deliveredAt: r.delivered_at,
					ackedAt: r.acked_at,
					openedAt: r.opened_at,
					clickedAt: r.clicked_at,
				};
				await ledgerFor(this.env, appId, r.message_id).tally(tally);
				// Only clear the flag if nothing changed since we read the row.
				this.sql.exec(
					`UPDATE receipts SET dirty = 0 WHERE message_id = ? AND status = ? AND acked_at IS ? AND opened_at IS ?
					   AND clicked_at IS ? AND delivered_at IS ?`,
					r.message_id,
					r.status,
					r.acked_at,
					r.opened_at,
					r.clicked_at,
					r.delivered_at,
				);
			}),
		);
	}

	/** Connected devices got it but none acked in the app's window: push to the user's vendor devices. */
	private async fallBack(now: number) {
		const appId = this.meta.get("app_id");
		const userId = this.meta.get("user_id");
		const due = [...this.sql.exec<{ message_id: string }>("SELECT message_id FROM fallbacks WHERE due_at <= ?", now)];
		for (const { message_id } of due) {
			const r = this.receipt(message_id);
			const stillUnacked = r && r.acked_at === null && (r.status === "delivered" || r.status === "queued");
			if (stillUnacked && appId && userId) {
				await this.env.VENDOR.send({ kind: "fallback", appId, userId, messageId: message_id } satisfies FallbackJob);
			}
			this.sql.exec("DELETE FROM fallbacks WHERE message_id = ?", message_id);
		}
	}

	private expire(now: number) {
		const expired = [
			...this.sql.exec<{ seq: number; message_id: string }>("SELECT seq, message_id FROM inbox WHERE expires_at <= ?", now),
		];
		for (const row of expired) {
			this.sql.exec("INSERT OR IGNORE INTO dropped (seq, reason, at) VALUES (?, 'expired', ?)", row.seq, now);
			this.sql.exec(
				"UPDATE receipts SET status = 'expired', dirty = 1 WHERE message_id = ? AND acked_at IS NULL AND status IN ('queued', 'delivered')",
				row.message_id,
			);
		}
		this.sql.exec("DELETE FROM inbox WHERE expires_at <= ?", now);
	}

	/** Past the cap, the oldest messages leave; devices that had not acked them see a gap. */
	private enforceCap(cap: number, now: number) {
		const held = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM inbox").one().n;
		if (held <= cap) return;
		const victims = [
			...this.sql.exec<{ seq: number; message_id: string }>("SELECT seq, message_id FROM inbox ORDER BY seq LIMIT ?", held - cap),
		];
		for (const v of victims) {
			this.sql.exec("DELETE FROM inbox WHERE seq = ?", v.seq);
			this.sql.exec("INSERT OR IGNORE INTO dropped (seq, reason, at) VALUES (?, 'capped', ?)", v.seq, now);
			this.sql.exec(
				"UPDATE receipts SET status = 'expired', dirty = 1 WHERE message_id = ? AND acked_at IS NULL AND status IN ('queued', 'delivered')",
				v.message_id,
			);
		}
	}

	/** A newer message with the same collapse key replaces an older one that no device has been sent. */
	private collapse(key: string) {
		const older = [
			...this.sql.exec<{ message_id: string }>("SELECT message_id FROM inbox WHERE collapse_key = ? AND sent = 0", key),
		];
		for (const o of older) {
			this.sql.exec("DELETE FROM inbox WHERE message_id = ?", o.message_id);
			this.sql.exec("UPDATE receipts SET status = 'expired', dirty = 1 WHERE message_id = ?", o.message_id);
		}
	}

	/** Messages every known device has acked leave the inbox. With no known device, TTL decides. */
	private pruneAcked() {
		const row = this.sql.exec<{ n: number; m: number | null }>("SELECT count(*) AS n, min(acked_seq) AS m FROM devices").one();
		if (row.n > 0 && row.m !== null && row.m > 0) this.sql.exec("DELETE FROM inbox WHERE seq <= ?", row.m);
	}

	private gapsAfter(from: number): { from: number; to: number }[] {
		const gaps: { from: number; to: number }[] = [];
		for (const { seq } of this.sql.exec<{ seq: number }>("SELECT seq FROM dropped WHERE seq > ? ORDER BY seq", from)) {
			const last = gaps.at(-1);
			if (last && last.to === seq - 1) last.to = seq;
			else gaps.push({ from: seq, to: seq });
		}
		return gaps;
	}

	private async scheduleAlarm() {
		const candidates: number[] = [];
		const nextExpiry = this.sql.exec<{ t: number | null }>("SELECT min(expires_at) AS t FROM inbox").one().t;
		if (nextExpiry !== null) candidates.push(nextExpiry);
		const nextRelease = this.sql.exec<{ t: number | null }>("SELECT min(release_at) AS t FROM held").one().t;
		if (nextRelease !== null) candidates.push(nextRelease);
		const nextFallback = this.sql.exec<{ t: number | null }>("SELECT min(due_at) AS t FROM fallbacks").one().t;
		if (nextFallback !== null) candidates.push(nextFallback);
		const nextPrune = this.sql.exec<{ t: number | null }>("SELECT min(keep_until) AS t FROM receipts").one().t;
		if (nextPrune !== null) candidates.push(nextPrune);
		const dirty = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM receipts WHERE dirty = 1 AND tally = 1").one().n;
		if (dirty > 0) candidates.push(Date.now() + FLUSH_DELAY_MS);
		for (const ws of this.ctx.getWebSockets()) {
			const state = ws.deserializeAttachment() as SocketState | null;
			if (state) candidates.push(state.tokenExp * 1000);
		}
		if (candidates.length === 0) return;
		const at = Math.min(...candidates);
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > at) await this.ctx.storage.setAlarm(at);
	}

	// ---- Small helpers ------------------------------------------------------------------------

	private broadcast(frameJson: string): number {
		let sent = 0;
		for (const ws of this.ctx.getWebSockets()) {
			const state = ws.deserializeAttachment() as SocketState | null;
			if (!state?.ready || ws.readyState !== OPEN) continue;
			try {
				ws.send(frameJson);
				sent++;
			} catch {
				// The socket closed under us; its device will resume from its last seq.
			}
		}
		return sent;
	}

	private markSent(seq: number) {
		this.sql.exec("UPDATE inbox SET sent = 1 WHERE seq = ?", seq);
	}

	private receipt(messageId: string): ReceiptRow | undefined {
		return this.sql.exec<ReceiptRow>("SELECT * FROM receipts WHERE message_id = ?", messageId).toArray()[0];
	}

	private latestSeq(): number {
		return Number(this.meta.get("seq") ?? "0");
	}

	private nextSeq(): number {
		const seq = this.latestSeq() + 1;
		this.meta.set("seq", String(seq));
		return seq;
	}

	private remember(appId: string, userId: string) {
		if (this.meta.get("user_id") === undefined) {
			this.meta.set("app_id", appId);
			this.meta.set("user_id", userId);
		}
	}
}

/** Columns added after the first schema; SQLite has no ADD COLUMN IF NOT EXISTS. */
function migrateInbox(sql: SqlStorage) {
	const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('receipts')").toArray();
	if (!columns.some((c) => c.name === "tally")) sql.exec("ALTER TABLE receipts ADD COLUMN tally INTEGER NOT NULL DEFAULT 1");
}

function outcomeOf(status: RecipientStatus): DeliveryResult["outcome"] {
	if (status === "queued" || status === "expired" || status === "recalled" || status === "capped" || status === "dropped") {
		return status;
	}
	if (status === "failed") return "expired";
	return "delivered";
}

function send(ws: WebSocket, frame: ServerFrame) {
	try {
		ws.send(JSON.stringify(frame));
	} catch {
		// Closing sockets throw on send; the device resumes from its last seq.
	}
}

function safeClose(ws: WebSocket, code: number, reason: string) {
	try {
		ws.close(code, reason);
	} catch {
		// Already closed or closing: exactly the case we expect here.
	}
}
