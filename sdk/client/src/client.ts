import type {
	ClientFrame,
	CloseCode,
	MessageFrame,
	PING_FRAME,
	SUBPROTOCOL as PROTOCOL_SUBPROTOCOL,
	TOKEN_SUBPROTOCOL_PREFIX as PROTOCOL_TOKEN_PREFIX,
	ServerFrame,
} from "../../../protocol/frames.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { type ClientErrorKind, describe, WarblerClientError } from "./errors.js";
import { Emitter, type Listener } from "./events.js";
import { ResumeState } from "./resume.js";
import {
	connectUrl,
	defaultWebSocket,
	discard,
	OPEN,
	type SocketCloseEvent,
	type SocketMessageEvent,
	type WebSocketConstructor,
	type WebSocketLike,
} from "./socket.js";
import { type ConnectionState, StateMachine } from "./state.js";
import { memoryStorage, type WarblerStorage } from "./storage.js";
import { after, cancel, type TimerHandle } from "./timers.js";

// The protocol module is imported for types only (no runtime dependency); these are checked against it.
/** Sent exactly like this: the server answers this text without waking the inbox. */
const PING: typeof PING_FRAME = '{"type":"ping"}';
const TOKEN_EXPIRED: (typeof CloseCode)["TOKEN_EXPIRED"] = 4001;
/** The code the client closes with when it gives up on a silent connection (reconnect follows). */
const CLIENT_GOING_AWAY: (typeof CloseCode)["GOING_AWAY"] = 4000;
/** The token travels as a subprotocol, not in the URL (see protocol/frames.ts). */
const SUBPROTOCOL: typeof PROTOCOL_SUBPROTOCOL = "warbler.v1";
const TOKEN_SUBPROTOCOL_PREFIX: typeof PROTOCOL_TOKEN_PREFIX = "warbler.token.";

/** Close codes 4500–4999 are final: the client stops (the rule `CloseCode` in protocol/frames.ts states). */
export function isFinalCloseCode(code: number): boolean {
	return code >= 4500 && code <= 4999;
}

export type WarblerMessage = MessageFrame;
export type WelcomeFrame = Extract<ServerFrame, { type: "welcome" }>;

/** Why `getToken` is being called. `"expired"`: the server closed with 4001, do not return a cached token. */
export type TokenReason = "connect" | "reconnect" | "expired";

export interface StateChange {
	state: ConnectionState;
	previous: ConnectionState;
	/** The close code that caused a move to `disconnected` or `stopped`. */
	code?: number;
	reason?: string;
	/** On `disconnected`: when the next attempt starts. */
	retryInMs?: number;
}

export type ClientEvents = {
	/** A new message (never one already shown). Listeners may be async; the ack waits for them. */
	message: WarblerMessage;
	/** The sender recalled a message: remove it from the screen. */
	recall: { id: string };
	/** Messages `from`..`to` expired or fell off the inbox cap and will never come. */
	gap: { from: number; to: number };
	state: StateChange;
	/** The server accepted the hello; `seq` is the latest seq of the user's inbox. */
	welcome: WelcomeFrame;
	error: WarblerClientError;
};

export interface WarblerClientOptions {
	/** Base URL of the Warbler API, e.g. `https://push.example.com` (http/https become ws/wss). */
	url: string;
	deviceId: string;
	/** Returns a client token; called on every (re)connect. */
	getToken: (context: { reason: TokenReason }) => string | Promise<string>;
	/** The message handler. The message is acked when it resolves; if it throws, it is not. */
	onMessage?: (message: WarblerMessage) => unknown;
	/** Where `last_seq` and the recent message ids live. Default: `memoryStorage()` (lost on restart). */
	storage?: WarblerStorage;
	/** Storage key. Default `warbler:<deviceId>`. */
	storageKey?: string;
	/** A WebSocket constructor. Default: `globalThis.WebSocket`. */
	WebSocket?: WebSocketConstructor;
	/** Recorded by the server when the device is first seen (`web` by default). */
	platform?: string;
	/**
	 * Put the client token in the connect URL (`?token=`) instead of the WebSocket subprotocol header.
	 * Only for WebSocket implementations that cannot offer subprotocols: URLs land in access logs.
	 */
	tokenInUrl?: boolean;
	/** Connect right away (in a microtask, so listeners added just after `new` see everything). Default true. */
	autoConnect?: boolean;
	/** Reconnect backoff: full jitter, 500 ms doubling to a 20 s cap. */
	backoff?: BackoffOptions;
	/** A connection must stay up this long before the backoff starts over. Default 10 s. */
	stableAfterMs?: number;
	/** Application ping interval. Default 25 s. */
	pingIntervalMs?: number;
	/** With no frame at all this long after a ping, the connection is dropped and reopened. Default 10 s. */
	pongTimeoutMs?: number;
	/** From the start of an attempt (getToken included) to the server's welcome. Default 15 s. */
	connectTimeoutMs?: number;
	/** How many recent message ids are remembered (and persisted) for de-duplication. Default 1000. */
	maxRecentIds?: number;
	/**
	 * A message whose handler keeps failing is retried on each new connection; after this many
	 * failures in one process the client gives up on it, acks it and reports `final: true`.
	 * Default 3; `Infinity` never gives up.
	 */
	handlerAttempts?: number;
	/**
	 * Acks are cumulative and batched: one ack frame covers every message handled within this many
	 * ms (each incoming WebSocket message costs the server a request). Default 100; 0 acks each one.
	 */
	ackDelayMs?: number;
	/** …or as soon as this many messages are handled. Default 64. */
	ackBatch?: number;
}

interface Inbound {
	/** The socket generation the frame came on. */
	gen: number;
	/** The seq numbering it belongs to (changes when the server restarted the user's inbox). */
	epoch: number;
	frame: Extract<ServerFrame, { type: "message" | "gap" | "recall" }>;
}

const MAX_OUTBOX = 1000;

/**
 * A Warbler device connection: connects with a fresh token, resumes from the persisted `last_seq`,
 * hands each new message to the handler and acks it, de-duplicates redeliveries (also across
 * restarts), keeps the connection alive with pings and reconnects with full-jitter backoff.
 */
export class WarblerClient extends Emitter<ClientEvents> {
	readonly deviceId: string;
	private readonly url: string;
	private readonly getToken: WarblerClientOptions["getToken"];
	private readonly onMessage: Listener<WarblerMessage> | undefined;
	private readonly WebSocket: WebSocketConstructor;
	private readonly platform: string | undefined;
	private readonly tokenInUrl: boolean;
	private readonly stableAfterMs: number;
	private readonly pingIntervalMs: number;
	private readonly pongTimeoutMs: number;
	private readonly connectTimeoutMs: number;
	private readonly handlerAttempts: number;
	private readonly ackDelayMs: number;
	private readonly ackBatch: number;

	private readonly machine = new StateMachine();
	private readonly backoff: Backoff;
	private readonly resume: ResumeState;
	private loaded: Promise<void> | undefined;

	private ws: WebSocketLike | undefined;
	/** Bumped for every socket and by `close()`; work started for an older generation stands down. */
	private gen = 0;
	private epoch = 0;
	private helloSent = false;
	private nextReason: TokenReason = "connect";
	private outbox: string[] = [];
	private inbound: Inbound[] = [];
	private pumping = false;
	/** The generation in which a handler failed: acks stay behind the failed message until a new connection. */
	private blockedGen = -1;
	private failures = new Map<string, number>();
	private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

	private reconnectTimer: TimerHandle | undefined;
	private connectTimer: TimerHandle | undefined;
	private pingTimer: TimerHandle | undefined;
	private pongTimer: TimerHandle | undefined;
	private stableTimer: TimerHandle | undefined;
	private ackTimer: TimerHandle | undefined;
	/** The highest handled seq not yet acked, and how many messages it covers. */
	private pendingAck = { gen: -1, seq: 0, count: 0 };

	constructor(options: WarblerClientOptions) {
		super();
		if (!options.url) throw new TypeError("warbler: url is required");
		if (!options.deviceId) throw new TypeError("warbler: deviceId is required");
		if (typeof options.getToken !== "function") throw new TypeError("warbler: getToken is required");
		this.deviceId = options.deviceId;
		this.url = options.url;
		this.getToken = options.getToken;
		this.onMessage = options.onMessage;
		this.WebSocket = options.WebSocket ?? defaultWebSocket();
		this.platform = options.platform;
		this.tokenInUrl = options.tokenInUrl ?? false;
		this.stableAfterMs = options.stableAfterMs ?? 10_000;
		this.pingIntervalMs = options.pingIntervalMs ?? 25_000;
		this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
		this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
		this.handlerAttempts = Math.max(1, options.handlerAttempts ?? 3);
		this.ackDelayMs = Math.max(0, options.ackDelayMs ?? 100);
		this.ackBatch = Math.max(1, options.ackBatch ?? 64);
		this.backoff = new Backoff(options.backoff);
		this.resume = new ResumeState(
			options.storage ?? memoryStorage(),
			options.storageKey ?? `warbler:${options.deviceId}`,
			Math.max(1, options.maxRecentIds ?? 1000),
		);
		if (options.autoConnect !== false) {
			queueMicrotask(() => {
				if (this.gen === 0 && this.state === "disconnected") void this.openSocket("connect");
			});
		}
	}

	get state(): ConnectionState {
		return this.machine.current;
	}

	/** The resume position: every message up to it has been handled (or announced as a gap). */
	get lastSeq(): number {
		return this.resume.lastSeq;
	}

	/**
	 * Starts (or restarts after `close()` or a final close code) and resolves once connected. While
	 * waiting out a backoff delay, connects right away. Rejects if the client stops first.
	 */
	connect(): Promise<void> {
		if (this.state === "connected") return Promise.resolve();
		const ready = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
		// A caller that does not await connect() must not get an unhandled rejection when the client stops.
		ready.catch(() => {});
		if (this.state === "stopped") {
			this.backoff.reset();
			void this.openSocket("connect");
		} else if (this.state === "disconnected") {
			void this.openSocket(this.gen === 0 ? "connect" : this.nextReason);
		}
		return ready;
	}

	/** Stops for good: closes the socket, cancels every timer, never reconnects (until `connect()`). */
	close(): void {
		this.gen++;
		this.reconnectTimer = cancel(this.reconnectTimer);
		const ws = this.ws;
		this.teardown();
		if (ws) discard(ws, 1000, "client closed");
		if (this.state !== "stopped") this.stop(1000, "client closed");
	}

	/** Reports that the user opened (saw) a message. Queued until connected (sent after the welcome). */
	opened(messageId: string): void {
		this.sendFrame({ type: "event", id: messageId, name: "opened" });
	}

	/** Reports that the user clicked a message. Queued until connected (sent after the welcome). */
	clicked(messageId: string): void {
		this.sendFrame({ type: "event", id: messageId, name: "clicked" });
	}

	// --- connection lifecycle -------------------------------------------------------------------

	private async openSocket(reason: TokenReason): Promise<void> {
		this.reconnectTimer = cancel(this.reconnectTimer);
		this.setState("connecting");
		const gen = ++this.gen;
		// Covers everything up to the welcome: storage, getToken, the upgrade, the hello.
		this.connectTimer = after(this.connectTimeoutMs, () => this.connectTimedOut(gen, reason));
		let ws: WebSocketLike;
		let stage: ClientErrorKind = "token";
		try {
			this.loaded ??= this.resume.load().catch((err) => this.fail("storage", `could not load state: ${describe(err)}`, err));
			await this.loaded;
			const token = await this.getToken({ reason });
			if (gen !== this.gen) return;
			if (typeof token !== "string" || token === "") throw new Error("getToken() returned no token");
			stage = "socket";
			ws = this.tokenInUrl
				? new this.WebSocket(connectUrl(this.url, token, this.deviceId, this.platform))
				: new this.WebSocket(connectUrl(this.url, undefined, this.deviceId, this.platform), [
						SUBPROTOCOL,
						`${TOKEN_SUBPROTOCOL_PREFIX}${token}`,
					]);
		} catch (err) {
			if (gen !== this.gen) return;
			this.connectTimer = cancel(this.connectTimer);
			this.fail(stage, stage === "token" ? `getToken failed: ${describe(err)}` : `cannot open socket: ${describe(err)}`, err);
			// Keep "expired" so the next getToken call still knows a cached token will not do.
			this.retry(reason === "expired" ? "expired" : "reconnect", { reason: describe(err) });
			return;
		}
		this.ws = ws;
		ws.onopen = () => {
			if (ws !== this.ws) return;
			ws.send(JSON.stringify({ type: "hello", last_seq: this.resume.lastSeq } satisfies ClientFrame));
			this.helloSent = true;
			this.schedulePing(ws);
		};
		ws.onmessage = (event: SocketMessageEvent) => {
			if (ws === this.ws) this.onFrame(gen, event.data);
		};
		ws.onclose = (event: SocketCloseEvent) => {
			if (ws === this.ws) this.onClose(event.code ?? 1006, event.reason ?? "");
		};
		// A close event follows every error; nothing to do here.
		ws.onerror = () => {};
	}

	private onClose(code: number, reason: string): void {
		this.teardown();
		if (this.state === "stopped") return;
		if (isFinalCloseCode(code)) this.stop(code, reason);
		else this.retry(code === TOKEN_EXPIRED ? "expired" : "reconnect", { code, reason });
	}

	private connectTimedOut(gen: number, reason: TokenReason): void {
		this.connectTimer = undefined;
		if (gen !== this.gen) return;
		if (this.ws) {
			this.drop(this.ws, "connect timeout");
			return;
		}
		// Still in storage or getToken: abandon that attempt (its result is ignored) and try again.
		this.gen++;
		this.retry(reason === "expired" ? "expired" : "reconnect", { reason: "connect timeout" });
	}

	/** Gives up on a socket from the client side (timeouts) and reconnects. */
	private drop(ws: WebSocketLike, reason: string): void {
		if (ws !== this.ws) return;
		discard(ws, CLIENT_GOING_AWAY, reason);
		this.onClose(CLIENT_GOING_AWAY, reason);
	}

	private retry(tokenReason: TokenReason, info: { code?: number; reason?: string }): void {
		const delay = this.backoff.next();
		this.nextReason = tokenReason;
		this.setState("disconnected", { ...info, retryInMs: delay });
		this.reconnectTimer = after(delay, () => {
			this.reconnectTimer = undefined;
			void this.openSocket(tokenReason);
		});
	}

	private stop(code: number, reason: string): void {
		this.setState("stopped", { code, reason });
		const err = new WarblerClientError("stopped", `warbler: client stopped (${code}${reason ? ` ${reason}` : ""})`, { code });
		for (const w of this.waiters.splice(0)) w.reject(err);
	}

	/** Forgets the current socket: timers, unprocessed frames (they will be replayed), hello state. */
	private teardown(): void {
		this.ws = undefined;
		this.helloSent = false;
		this.inbound.length = 0;
		this.connectTimer = cancel(this.connectTimer);
		this.pingTimer = cancel(this.pingTimer);
		this.pongTimer = cancel(this.pongTimer);
		this.stableTimer = cancel(this.stableTimer);
		// A new connection's hello carries the position: pending acks are not needed any more.
		this.ackTimer = cancel(this.ackTimer);
		this.pendingAck = { gen: -1, seq: 0, count: 0 };
	}

	private schedulePing(ws: WebSocketLike): void {
		this.pingTimer = after(this.pingIntervalMs, () => {
			if (ws !== this.ws) return;
			ws.send(PING);
			this.pongTimer ??= after(this.pongTimeoutMs, () => this.drop(ws, "pong timeout"));
			this.schedulePing(ws);
		});
	}

	private setState(state: ConnectionState, info: Omit<StateChange, "state" | "previous"> = {}): void {
		const previous = this.machine.to(state);
		this.emit("state", { state, previous, ...info });
	}

	private fail(
		kind: ClientErrorKind,
		message: string,
		cause?: unknown,
		extra: ConstructorParameters<typeof WarblerClientError>[2] = {},
	) {
		const err = new WarblerClientError(kind, message, { cause, ...extra });
		this.emit("error", err);
	}

	// --- frames ---------------------------------------------------------------------------------

	private sendFrame(frame: ClientFrame): void {
		const text = JSON.stringify(frame);
		const ws = this.ws;
		if (ws && this.state === "connected" && ws.readyState === OPEN) {
			ws.send(text);
			return;
		}
		this.outbox.push(text);
		if (this.outbox.length > MAX_OUTBOX) this.outbox.shift();
	}

	/** Acks are cumulative: one frame per batch of handled messages, at most `ackDelayMs` late. */
	private ack(gen: number, seq: number): void {
		if (gen !== this.pendingAck.gen) this.pendingAck = { gen, seq: 0, count: 0 };
		this.pendingAck.seq = Math.max(this.pendingAck.seq, seq);
		this.pendingAck.count++;
		if (this.ackDelayMs === 0 || this.pendingAck.count >= this.ackBatch) {
			this.flushAck();
			return;
		}
		this.ackTimer ??= after(this.ackDelayMs, () => {
			this.ackTimer = undefined;
			this.flushAck();
		});
	}

	/** Acks only go out on the live socket; a later hello carries the position anyway. */
	private flushAck(): void {
		this.ackTimer = cancel(this.ackTimer);
		const { gen, seq, count } = this.pendingAck;
		this.pendingAck = { gen, seq: 0, count: 0 };
		const ws = this.ws;
		if (count > 0 && gen === this.gen && ws && this.helloSent && ws.readyState === OPEN) {
			ws.send(JSON.stringify({ type: "ack", seq } satisfies ClientFrame));
		}
	}

	private onFrame(gen: number, data: unknown): void {
		// Any frame shows the connection is alive.
		this.pongTimer = cancel(this.pongTimer);
		if (typeof data !== "string") return;
		let frame: ServerFrame;
		try {
			frame = JSON.parse(data) as ServerFrame;
		} catch (err) {
			this.fail("protocol", "frame is not JSON", err);
			return;
		}
		switch (frame.type) {
			case "welcome":
				this.onWelcome(frame);
				return;
			case "message":
			case "gap":
			case "recall":
				this.inbound.push({ gen, epoch: this.epoch, frame });
				void this.pump();
				return;
			case "error":
				this.fail("server", `server error frame: ${frame.message}`, undefined, { code: frame.code });
				return;
			default:
				// pong, and frame types added later: nothing to do.
				return;
		}
	}

	private onWelcome(frame: WelcomeFrame): void {
		if (this.state !== "connecting") return;
		if (frame.seq < this.resume.lastSeq) {
			// The user's inbox starts numbering again (the user was erased); the server replays from 0.
			this.resume.lastSeq = 0;
			this.epoch++;
			void this.persist();
		}
		this.connectTimer = cancel(this.connectTimer);
		this.setState("connected");
		// Queued frames go out once the server has taken the hello, not on a socket that may be refused.
		const ws = this.ws;
		if (ws && ws.readyState === OPEN) for (const text of this.outbox.splice(0)) ws.send(text);
		this.stableTimer = after(this.stableAfterMs, () => {
			this.stableTimer = undefined;
			this.backoff.reset();
		});
		for (const w of this.waiters.splice(0)) w.resolve();
		this.emit("welcome", frame);
	}

	/** Handles message, gap and recall frames one at a time, in order, across reconnects. */
	private async pump(): Promise<void> {
		if (this.pumping) return;
		this.pumping = true;
		try {
			for (let item = this.inbound.shift(); item; item = this.inbound.shift()) {
				try {
					await this.process(item);
				} catch (err) {
					this.fail("socket", `could not process a ${item.frame.type} frame: ${describe(err)}`, err);
				}
			}
		} finally {
			this.pumping = false;
		}
	}

	private async process(item: Inbound): Promise<void> {
		const { frame, gen } = item;
		if (frame.type === "recall") {
			// Remembered too, so a recalled message that had not arrived yet is never shown.
			this.resume.remember(frame.id);
			this.emit("recall", { id: frame.id });
			await this.persist();
			return;
		}
		if (frame.type === "gap") {
			this.emit("gap", { from: frame.from, to: frame.to });
			if (this.blockedGen !== gen) {
				this.advance(item, frame.to);
				await this.persist();
			}
			return;
		}
		if (!this.resume.has(frame.id)) {
			try {
				await this.emitAndWait("message", frame, this.onMessage);
			} catch (err) {
				const attempt = (this.failures.get(frame.id) ?? 0) + 1;
				const final = attempt >= this.handlerAttempts;
				this.fail("handler", `message handler failed: ${describe(err)}`, err, {
					messageId: frame.id,
					seq: frame.seq,
					attempt,
					final,
				});
				if (!final) {
					this.failures.set(frame.id, attempt);
					this.blockedGen = gen;
					return;
				}
			}
			this.failures.delete(frame.id);
			this.resume.remember(frame.id);
		}
		const blocked = this.blockedGen === gen;
		if (!blocked) this.advance(item, frame.seq);
		await this.persist();
		if (!blocked) this.ack(gen, frame.seq);
	}

	private advance(item: Inbound, seq: number): void {
		if (item.epoch === this.epoch && seq > this.resume.lastSeq) this.resume.lastSeq = seq;
	}

	private async persist(): Promise<void> {
		try {
			await this.resume.flush();
		} catch (err) {
			this.fail("storage", `could not save state: ${describe(err)}`, err);
		}
	}
}
