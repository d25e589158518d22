import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import type { ClientFrame, MessageFrame, ServerFrame } from "../../protocol/frames.js";
import { Backoff, backoffCeiling, backoffDelay } from "../../sdk/client/src/backoff.js";
import { type StateChange, type TokenReason, WarblerClient, type WarblerClientOptions } from "../../sdk/client/src/client.js";
import type { WarblerClientError } from "../../sdk/client/src/errors.js";
import { ResumeState } from "../../sdk/client/src/resume.js";
import { canTransition } from "../../sdk/client/src/state.js";
import { localStorageStorage, memoryStorage } from "../../sdk/client/src/storage.js";

// --- an in-process server that speaks the Warbler WebSocket protocol --------------------------------

interface Conn {
	ws: WebSocket;
	token: string;
	/** The token came in the URL (`?token=`) rather than as a subprotocol. */
	tokenInUrl: boolean;
	device: string;
	/** Every text frame the client sent, as received. */
	raw: string[];
	frames: ClientFrame[];
	closed: boolean;
}

class FakeInbox {
	readonly conns: Conn[] = [];
	/** The user's inbox, seq 1, 2, 3, … */
	readonly messages: MessageFrame[] = [];
	/** Answer `{"type":"ping"}` like the real server's auto-response. */
	pong = true;
	/** Replay from seq 1 whatever the hello says (to redeliver ids the client has already shown). */
	replayAll = false;
	/** Overrides the `seq` of welcome frames. */
	welcomeSeq: number | undefined;
	/** Runs for each new connection before any frame; return true to take over (no protocol). */
	onConnection: ((conn: Conn) => boolean | undefined) | undefined;

	private constructor(private readonly wss: WebSocketServer) {
		wss.on("connection", (ws, req) => {
			const offered = String(req.headers["sec-websocket-protocol"] ?? "")
				.split(",")
				.map((p) => p.trim());
			this.accept(ws, new URL(req.url ?? "/", "http://x"), offered);
		});
	}

	static async start(): Promise<FakeInbox> {
		// Like the real server: answers the client's `warbler.v1` subprotocol.
		const wss = new WebSocketServer({
			host: "127.0.0.1",
			port: 0,
			path: "/v1/connect",
			handleProtocols: (protocols) => (protocols.has("warbler.v1") ? "warbler.v1" : false),
		});
		await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
		return new FakeInbox(wss);
	}

	get url(): string {
		return `http://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
	}

	get last(): Conn {
		const c = this.conns.at(-1);
		if (!c) throw new Error("no connection yet");
		return c;
	}

	/** Appends a message to the inbox and pushes it to every connection that said hello. */
	publish(id: string, body = id): MessageFrame {
		const frame: MessageFrame = {
			type: "message",
			seq: this.messages.length + 1,
			id,
			content: { type: "text", body },
			sent_at: new Date().toISOString(),
		};
		this.messages.push(frame);
		for (const c of this.conns) if (!c.closed && c.frames.some((f) => f.type === "hello")) c.ws.send(JSON.stringify(frame));
		return frame;
	}

	/** Sends a raw server frame on the latest connection. */
	push(frame: ServerFrame | MessageFrame): void {
		this.last.ws.send(JSON.stringify(frame));
	}

	acks(conn?: Conn): number[] {
		const frames = conn ? conn.frames : this.conns.flatMap((c) => c.frames);
		return frames.flatMap((f) => (f.type === "ack" ? [f.seq] : []));
	}

	async close(): Promise<void> {
		for (const c of this.conns) c.ws.terminate();
		await new Promise<void>((resolve) => this.wss.close(() => resolve()));
	}

	private accept(ws: WebSocket, url: URL, offered: string[]) {
		const inHeader = offered.find((p) => p.startsWith("warbler.token."))?.slice("warbler.token.".length);
		const conn: Conn = {
			ws,
			token: inHeader ?? url.searchParams.get("token") ?? "",
			tokenInUrl: url.searchParams.has("token"),
			device: url.searchParams.get("device") ?? "",
			raw: [],
			frames: [],
			closed: false,
		};
		this.conns.push(conn);
		ws.on("close", () => {
			conn.closed = true;
		});
		if (this.onConnection?.(conn)) return;
		ws.on("message", (data) => {
			const text = String(data);
			conn.raw.push(text);
			if (text === '{"type":"ping"}') {
				if (this.pong) ws.send('{"type":"pong"}');
				return;
			}
			const frame = JSON.parse(text) as ClientFrame;
			conn.frames.push(frame);
			if (frame.type === "hello") {
				const latest = this.messages.length;
				ws.send(JSON.stringify({ type: "welcome", user_id: "u1", device_id: conn.device, seq: this.welcomeSeq ?? latest }));
				const from = this.replayAll ? 0 : frame.last_seq;
				for (const m of this.messages) if (m.seq > from) ws.send(JSON.stringify(m));
			}
		});
	}
}

// --- helpers ------------------------------------------------------------------------------------

async function until(cond: () => boolean, what = "condition", timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!cond()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(5);
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function deferred<T = void>() {
	let resolve!: (v: T | PromiseLike<T>) => void;
	let reject!: (e: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}

let server: FakeInbox;
const clients: WarblerClient[] = [];

afterEach(async () => {
	for (const c of clients.splice(0)) c.close();
	await server?.close();
});

interface Harness {
	client: WarblerClient;
	shown: MessageFrame[];
	states: StateChange[];
	errors: WarblerClientError[];
	tokenCalls: TokenReason[];
}

/** A client against the fake server, with short timings and deterministic backoff unless overridden. */
function makeClient(overrides: Partial<WarblerClientOptions> = {}): Harness {
	const shown: MessageFrame[] = [];
	const states: StateChange[] = [];
	const errors: WarblerClientError[] = [];
	const tokenCalls: TokenReason[] = [];
	const client = new WarblerClient({
		url: server.url,
		deviceId: "phone-1",
		getToken: async ({ reason }) => {
			tokenCalls.push(reason);
			return `t${tokenCalls.length}`;
		},
		WebSocket,
		onMessage: (m) => {
			shown.push(m);
		},
		backoff: { baseMs: 40, maxMs: 1000, random: () => 0.5 },
		// Most tests watch the ack of each message; batching has tests of its own.
		ackDelayMs: 0,
		...overrides,
	});
	client.on("state", (s) => states.push(s));
	client.on("error", (e) => errors.push(e));
	clients.push(client);
	return { client, shown, states, errors, tokenCalls };
}

// --- tests ----------------------------------------------------------------------------------------

describe("backoff", () => {
	it("full jitter stays within [0, min(cap, base·2^n)] and spans the range", () => {
		expect([0, 1, 2, 3, 4, 5, 6, 7, 30, 5000].map((n) => backoffCeiling(n))).toEqual([
			500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000, 20_000,
		]);
		for (let attempt = 0; attempt < 12; attempt++) {
			const ceiling = backoffCeiling(attempt);
			const samples = Array.from({ length: 400 }, () => backoffDelay(attempt));
			for (const d of samples) {
				expect(d).toBeGreaterThanOrEqual(0);
				expect(d).toBeLessThanOrEqual(ceiling);
				expect(Number.isInteger(d)).toBe(true);
			}
			// Full jitter: delays fill the whole interval, not a band near the ceiling.
			expect(Math.min(...samples)).toBeLessThan(ceiling * 0.1);
			expect(Math.max(...samples)).toBeGreaterThan(ceiling * 0.9);
		}
		expect(backoffDelay(3, { random: () => 0 })).toBe(0);
		expect(backoffDelay(3, { random: () => 0.999_999 })).toBe(3999);
		expect(backoffDelay(2, { baseMs: 100, maxMs: 300, random: () => 0.5 })).toBe(150);
	});

	it("counts attempts until reset", () => {
		const b = new Backoff({ random: () => 1 });
		expect([b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000]);
		expect(b.attempt).toBe(3);
		b.reset();
		expect(b.next()).toBe(500);
	});
});

describe("state machine and storage", () => {
	it("allows only disconnected → connecting → connected, and stopped", () => {
		expect(canTransition("disconnected", "connecting")).toBe(true);
		expect(canTransition("connecting", "connected")).toBe(true);
		expect(canTransition("connected", "disconnected")).toBe(true);
		expect(canTransition("disconnected", "connected")).toBe(false);
		expect(canTransition("connected", "connecting")).toBe(false);
		expect(canTransition("stopped", "connected")).toBe(false);
	});

	it("persists last_seq and a bounded recent-id set under one key", async () => {
		const store = memoryStorage();
		const a = new ResumeState(store, "k", 3);
		for (const id of ["a", "b", "c", "d"]) a.remember(id);
		a.lastSeq = 4;
		await a.flush();
		expect(JSON.parse(store.map.get("k") ?? "")).toEqual({ v: 1, last_seq: 4, ids: ["b", "c", "d"] });
		const b = new ResumeState(store, "k", 3);
		await b.load();
		expect([b.lastSeq, b.has("a"), b.has("d"), b.size]).toEqual([4, false, true, 3]);
	});

	it("coalesces writes made while one is in flight", async () => {
		const writes: string[] = [];
		const gate = deferred();
		const slow = {
			get: () => null,
			set: async (_k: string, v: string) => {
				writes.push(v);
				await gate.promise;
			},
		};
		const s = new ResumeState(slow, "k", 10);
		const first = s.flush();
		for (let i = 1; i <= 5; i++) {
			s.lastSeq = i;
			void s.flush();
		}
		gate.resolve();
		await first;
		await s.flush();
		expect(writes.length).toBeLessThanOrEqual(3);
		expect(JSON.parse(writes.at(-1) ?? "").last_seq).toBe(5);
	});

	it("localStorageStorage wraps getItem/setItem", () => {
		const backing = new Map<string, string>();
		const storage = localStorageStorage({ getItem: (k) => backing.get(k) ?? null, setItem: (k, v) => void backing.set(k, v) });
		storage.set("x", "1");
		expect(storage.get("x")).toBe("1");
		expect(() => localStorageStorage()).toThrow(/localStorage/);
	});
});

describe("WarblerClient against a protocol server", () => {
	it("connects with token and device, says hello first, goes connecting → connected", async () => {
		server = await FakeInbox.start();
		const { client, states, tokenCalls } = makeClient();
		await client.connect();
		expect(server.last.token).toBe("t1");
		// The token travels as a WebSocket subprotocol, never in the URL (access logs).
		expect(server.last.tokenInUrl).toBe(false);
		expect(server.last.ws.protocol).toBe("warbler.v1");
		expect(server.last.device).toBe("phone-1");
		await until(() => server.last.frames.length > 0);
		expect(server.last.frames[0]).toEqual({ type: "hello", last_seq: 0 });
		expect(states.map((s) => s.state)).toEqual(["connecting", "connected"]);
		expect(tokenCalls).toEqual(["connect"]);
	});

	it("puts the token in the URL only when told to (tokenInUrl, for sockets without subprotocols)", async () => {
		server = await FakeInbox.start();
		const { client } = makeClient({ tokenInUrl: true });
		await client.connect();
		expect(server.last.token).toBe("t1");
		expect(server.last.tokenInUrl).toBe(true);
	});

	it("acks each message only after the handler resolves, in order", async () => {
		server = await FakeInbox.start();
		const gates = new Map<string, ReturnType<typeof deferred<void>>>();
		const seen: string[] = [];
		const { client } = makeClient({
			onMessage: async (m) => {
				seen.push(m.id);
				const g = deferred();
				gates.set(m.id, g);
				await g.promise;
			},
		});
		await client.connect();
		server.publish("m1");
		server.publish("m2");
		await until(() => gates.has("m1"), "handler m1");
		await sleep(30);
		expect(server.acks()).toEqual([]);
		// One at a time: m2 waits for m1.
		expect(seen).toEqual(["m1"]);
		gates.get("m1")?.resolve();
		await until(() => server.acks().length === 1, "ack 1");
		expect(server.acks()).toEqual([1]);
		await until(() => gates.has("m2"), "handler m2");
		gates.get("m2")?.resolve();
		await until(() => server.acks().length === 2, "ack 2");
		expect(server.acks()).toEqual([1, 2]);
		expect(client.lastSeq).toBe(2);
	});

	it("batches acks: one cumulative ack for a burst, sent when the ackDelayMs window ends", async () => {
		server = await FakeInbox.start();
		const { client } = makeClient({ ackDelayMs: 80 });
		await client.connect();
		for (let i = 1; i <= 3; i++) server.publish(`b${i}`);
		await until(() => client.lastSeq === 3, "handled");
		await until(() => server.acks().length > 0, "the window's ack");
		await sleep(150);
		expect(server.acks()).toEqual([3]);
	});

	it("acks at once when ackBatch messages are handled, without waiting for the window", async () => {
		server = await FakeInbox.start();
		const { client } = makeClient({ ackDelayMs: 60_000, ackBatch: 5 });
		await client.connect();
		for (let i = 1; i <= 4; i++) server.publish(`c${i}`);
		await until(() => client.lastSeq === 4, "handled");
		await sleep(50);
		expect(server.acks()).toEqual([]);
		server.publish("c5");
		// Far sooner than the 60 s window: the batch size sent it.
		await until(() => server.acks().length === 1, "ack at the batch size", 10_000);
		expect(server.acks()).toEqual([5]);
	});

	it("event listeners (emitter style) are awaited before the ack too", async () => {
		server = await FakeInbox.start();
		const { client } = makeClient({ onMessage: undefined });
		const gate = deferred();
		const got: string[] = [];
		client.on("message", async (m) => {
			got.push(m.id);
			await gate.promise;
		});
		await client.connect();
		server.publish("m1");
		await until(() => got.length === 1);
		await sleep(20);
		expect(server.acks()).toEqual([]);
		gate.resolve();
		await until(() => server.acks().length === 1);
	});

	it("does not ack when the handler throws, reports it, and retries the message on the next connection", async () => {
		server = await FakeInbox.start();
		let calls = 0;
		const { client, errors, shown } = makeClient({
			onMessage: (m) => {
				calls++;
				if (calls === 1) throw new Error("render failed");
				shown.push(m);
			},
		});
		await client.connect();
		server.publish("m1");
		server.publish("m2");
		await until(() => errors.length === 1, "handler error");
		await until(() => shown.length === 1, "m2 shown");
		await sleep(30);
		expect(errors[0]).toMatchObject({ kind: "handler", messageId: "m1", seq: 1, attempt: 1, final: false });
		// m2 was shown, but a cumulative ack for it would cover m1: nothing is acked, last_seq holds.
		expect(server.acks()).toEqual([]);
		expect(client.lastSeq).toBe(0);

		server.last.ws.terminate();
		await until(() => server.conns.length === 2 && server.last.frames.length > 0, "reconnect");
		expect(server.last.frames[0]).toEqual({ type: "hello", last_seq: 0 });
		await until(() => server.acks(server.last).length === 2, "acks after retry");
		expect(server.acks(server.last)).toEqual([1, 2]);
		expect(shown.map((m) => m.id)).toEqual(["m2", "m1"]);
		expect(client.lastSeq).toBe(2);
	});

	it("gives up on a message after handlerAttempts failures and acks it, so one bad message cannot hold acks forever", async () => {
		server = await FakeInbox.start();
		const { client, errors } = makeClient({
			handlerAttempts: 1,
			onMessage: () => {
				throw new Error("always");
			},
		});
		await client.connect();
		server.publish("m1");
		await until(() => server.acks().length === 1);
		expect(errors[0]).toMatchObject({ kind: "handler", final: true });
		expect(client.lastSeq).toBe(1);
	});

	it("reconnects with growing full-jitter backoff after drops, resumes with last_seq and gets only what it missed", async () => {
		server = await FakeInbox.start();
		const { client, shown, states, tokenCalls } = makeClient();
		await client.connect();
		server.publish("m1");
		server.publish("m2");
		await until(() => server.acks().length === 2);

		// The server refuses the next three connections (closes before any welcome), then serves again.
		let refuse = 3;
		const opened: number[] = [];
		server.onConnection = (conn) => {
			opened.push(Date.now());
			if (refuse-- > 0) {
				conn.ws.close(1011, "try later");
				return true;
			}
			return undefined;
		};
		const dropAt = Date.now();
		server.last.ws.terminate();
		server.publish("m3"); // arrives while the device is away
		await until(() => client.state === "connected" && server.conns.length === 5, "reconnected", 5000);
		await until(() => shown.length === 3);

		const retries = states.filter((s) => s.state === "disconnected").map((s) => s.retryInMs);
		// random() = 0.5, base 40 ms: 20, 40, 80, 160 ms; never reset, the refused connections were not stable.
		expect(retries).toEqual([20, 40, 80, 160]);
		const gaps = [opened[0]! - dropAt, ...opened.slice(1).map((t, i) => t - opened[i]!)];
		gaps.forEach((gap, i) => {
			expect(gap).toBeGreaterThanOrEqual(retries[i]! - 5);
		});
		expect(server.last.frames[0]).toEqual({ type: "hello", last_seq: 2 });
		expect(shown.map((m) => m.id)).toEqual(["m1", "m2", "m3"]);
		await until(() => server.acks(server.last).length === 1, "ack 3");
		expect(server.acks(server.last)).toEqual([3]);
		expect(tokenCalls).toEqual(["connect", "reconnect", "reconnect", "reconnect", "reconnect"]);
	});

	it("resets the backoff only after the connection stayed up for stableAfterMs", async () => {
		server = await FakeInbox.start();
		const { client, states } = makeClient({ stableAfterMs: 500 });
		await client.connect();
		const retries = () => states.filter((s) => s.state === "disconnected").map((s) => s.retryInMs);

		// Two quick drops right after connecting: the backoff keeps growing.
		for (let i = 0; i < 2; i++) {
			server.last.ws.terminate();
			await until(() => retries().length === i + 1);
			await until(() => client.state === "connected");
		}
		expect(retries()).toEqual([20, 40]);
		// Up for longer than stableAfterMs: the next drop starts from the first delay again.
		await sleep(650);
		server.last.ws.terminate();
		await until(() => retries().length === 3);
		expect(retries()).toEqual([20, 40, 20]);
	});

	it("never shows a redelivered id twice: within a connection and across reconnects", async () => {
		server = await FakeInbox.start();
		server.replayAll = true; // the inbox redelivers everything on every hello
		const { client, shown } = makeClient();
		await client.connect();
		const m1 = server.publish("m1");
		server.publish("m2");
		server.push(m1); // duplicate on the same socket
		await until(() => server.acks().length === 3);
		server.last.ws.terminate();
		await until(() => server.conns.length === 2 && server.acks(server.last).length === 2, "replayed acks");
		expect(shown.map((m) => m.id)).toEqual(["m1", "m2"]);
		// Duplicates are still acked, so the server can let go of them.
		expect(server.acks(server.last)).toEqual([1, 2]);
	});

	it("never shows an id twice across a restart that reuses the storage", async () => {
		server = await FakeInbox.start();
		const storage = memoryStorage();
		const first = makeClient({ storage });
		await first.client.connect();
		server.publish("m1");
		server.publish("m2");
		await until(() => server.acks().length === 2);
		first.client.close();

		// A new process: same storage, and an inbox that still holds (and redelivers) both messages.
		server.replayAll = true;
		server.publish("m3");
		const second = makeClient({ storage });
		await second.client.connect();
		await until(() => second.shown.length === 1 && server.acks(server.last).length === 3);
		expect(server.last.frames[0]).toEqual({ type: "hello", last_seq: 2 });
		expect(second.shown.map((m) => m.id)).toEqual(["m3"]);
		expect(first.shown.map((m) => m.id)).toEqual(["m1", "m2"]);
		expect(JSON.parse(storage.map.get("warbler:phone-1") ?? "")).toMatchObject({ last_seq: 3, ids: ["m1", "m2", "m3"] });
	});

	it("calls getToken again with reason 'expired' when the server closes with 4001", async () => {
		server = await FakeInbox.start();
		const { client, tokenCalls, states } = makeClient();
		await client.connect();
		server.last.ws.close(4001, "token expired");
		await until(() => server.conns.length === 2 && client.state === "connected", "reconnected");
		expect(tokenCalls).toEqual(["connect", "expired"]);
		expect(server.last.token).toBe("t2");
		expect(states.find((s) => s.state === "disconnected")).toMatchObject({ code: 4001 });
	});

	it("keeps asking for a fresh token while getToken fails, with backoff", async () => {
		server = await FakeInbox.start();
		let n = 0;
		const { client, errors } = makeClient({
			getToken: async () => {
				if (++n < 3) throw new Error("auth backend down");
				return "good";
			},
		});
		await client.connect();
		expect(n).toBe(3);
		expect(errors.map((e) => e.kind)).toEqual(["token", "token"]);
		expect(server.conns.length).toBe(1);
	});

	it("stops on a final close code (4500) and does not reconnect", async () => {
		server = await FakeInbox.start();
		const { client, states } = makeClient();
		await client.connect();
		server.last.ws.close(4500, "revoked");
		await until(() => client.state === "stopped");
		await sleep(300); // several times the largest backoff these timings allow
		expect(server.conns.length).toBe(1);
		expect(states.at(-1)).toMatchObject({ state: "stopped", previous: "connected", code: 4500, reason: "revoked" });
		// connect() after a stop starts again (the app intervened).
		await client.connect();
		expect(server.conns.length).toBe(2);
	});

	it("rejects a pending connect() when the server stops it before the first welcome", async () => {
		server = await FakeInbox.start();
		server.onConnection = (conn) => {
			conn.ws.close(4502, "user deleted");
			return true;
		};
		const { client } = makeClient({ autoConnect: false });
		await expect(client.connect()).rejects.toMatchObject({ kind: "stopped", code: 4502 });
		expect(server.conns.length).toBe(1);
	});

	it("sends the ping as the exact text, and reconnects when no pong (or any frame) comes back", async () => {
		server = await FakeInbox.start();
		server.pong = false;
		const { client, states } = makeClient({ pingIntervalMs: 60, pongTimeoutMs: 80 });
		await client.connect();
		await until(() => server.conns.length === 2, "reconnect after pong timeout", 3000);
		expect(server.conns[0]!.raw).toContain('{"type":"ping"}');
		expect(server.conns[0]!.frames.some((f) => (f as { type: string }).type === "ping")).toBe(false);
		expect(states.find((s) => s.state === "disconnected")).toMatchObject({ reason: "pong timeout" });
		await until(() => server.conns[0]!.closed, "old socket closed");
	});

	it("keeps a connection whose pings are answered", async () => {
		server = await FakeInbox.start();
		const { client } = makeClient({ pingIntervalMs: 40, pongTimeoutMs: 200 });
		await client.connect();
		await sleep(400);
		expect(server.conns.length).toBe(1);
		expect(server.last.raw.filter((r) => r === '{"type":"ping"}').length).toBeGreaterThanOrEqual(4);
	});

	it("gives up on a connection that never welcomes within connectTimeoutMs", async () => {
		server = await FakeInbox.start();
		let silent = true;
		server.onConnection = () => {
			const swallow = silent;
			silent = false;
			return swallow; // the first connection never answers its hello
		};
		const { client, states } = makeClient({ connectTimeoutMs: 100 });
		await client.connect();
		expect(server.conns.length).toBe(2);
		expect(states.find((s) => s.state === "disconnected")).toMatchObject({ reason: "connect timeout" });
	});

	it("abandons a getToken that hangs past connectTimeoutMs and asks again", async () => {
		server = await FakeInbox.start();
		let calls = 0;
		const { client, states } = makeClient({
			connectTimeoutMs: 100,
			getToken: () => (++calls === 1 ? new Promise<string>(() => {}) : Promise.resolve("t2")),
		});
		await client.connect();
		expect(calls).toBe(2);
		expect(server.conns.map((c) => c.token)).toEqual(["t2"]);
		expect(states.find((s) => s.state === "disconnected")).toMatchObject({ reason: "connect timeout" });
	});

	it("queues event frames while not connected and sends them after the welcome, not on a refused socket", async () => {
		server = await FakeInbox.start();
		const { client } = makeClient();
		client.opened("m1"); // before the socket even exists
		await client.connect();
		await until(() => server.last.frames.length === 2);
		expect(server.last.frames).toEqual([
			{ type: "hello", last_seq: 0 },
			{ type: "event", id: "m1", name: "opened" },
		]);

		// While away, too.
		server.onConnection = (conn) => {
			if (server.conns.length === 2) {
				// Takes the hello, then refuses without a welcome.
				conn.ws.once("message", (data) => {
					conn.frames.push(JSON.parse(String(data)));
					setTimeout(() => conn.ws.close(1011, "not yet"), 20);
				});
				return true;
			}
			return undefined;
		};
		server.last.ws.terminate();
		await until(() => client.state !== "connected");
		client.clicked("m1");
		await until(() => server.conns.length === 3 && server.last.frames.length === 2, "third connection");
		// The second socket opened and took the hello, but was refused before any welcome: the event waited.
		expect(server.conns[1]!.frames).toEqual([{ type: "hello", last_seq: 0 }]);
		expect(server.last.frames).toEqual([
			{ type: "hello", last_seq: 0 },
			{ type: "event", id: "m1", name: "clicked" },
		]);
		// On an open connection the frame goes straight out.
		client.opened("m9");
		await until(() => server.last.frames.length === 3);
		expect(server.last.frames[2]).toEqual({ type: "event", id: "m9", name: "opened" });
	});

	it("emits recall and gap events; a gap advances last_seq", async () => {
		server = await FakeInbox.start();
		const { client, shown } = makeClient();
		const recalls: string[] = [];
		const gaps: { from: number; to: number }[] = [];
		client.on("recall", (r) => recalls.push(r.id));
		client.on("gap", (g) => gaps.push(g));
		await client.connect();
		server.publish("m1");
		await until(() => server.acks().length === 1);
		server.push({ type: "gap", from: 2, to: 4 });
		server.push({ type: "recall", id: "m1" });
		// A recall for a message that has not arrived yet: it must never be shown.
		server.push({ type: "recall", id: "m5" });
		server.push({ type: "message", seq: 5, id: "m5", content: { type: "text", body: "late" }, sent_at: "" });
		await until(() => recalls.length === 2 && server.acks().length === 2);
		expect(gaps).toEqual([{ from: 2, to: 4 }]);
		expect(recalls).toEqual(["m1", "m5"]);
		expect(shown.map((m) => m.id)).toEqual(["m1"]);
		expect(client.lastSeq).toBe(5);
		server.last.ws.terminate();
		await until(() => server.conns.length === 2 && server.last.frames.length > 0);
		expect(server.last.frames[0]).toEqual({ type: "hello", last_seq: 5 });
	});

	it("starts over from seq 0 when the server's inbox is behind the stored position (user erased)", async () => {
		server = await FakeInbox.start();
		const storage = memoryStorage([["warbler:phone-1", JSON.stringify({ v: 1, last_seq: 40, ids: ["old"] })]]);
		const { client, shown } = makeClient({ storage });
		await client.connect();
		expect(server.last.frames[0]).toEqual({ type: "hello", last_seq: 40 });
		server.publish("fresh");
		await until(() => server.acks().length === 1);
		expect(shown.map((m) => m.id)).toEqual(["fresh"]);
		expect(client.lastSeq).toBe(1);
	});

	it("reports server error frames without dropping the connection", async () => {
		server = await FakeInbox.start();
		const { client, errors } = makeClient();
		await client.connect();
		server.push({ type: "error", code: "unknown_message", message: "no such message" });
		await until(() => errors.length === 1);
		expect(errors[0]).toMatchObject({ kind: "server", code: "unknown_message" });
		expect(client.state).toBe("connected");
	});

	it("close() stops for good: closes the socket with 1000 and never reconnects", async () => {
		server = await FakeInbox.start();
		const { client, states } = makeClient();
		await client.connect();
		const closed = new Promise<number>((resolve) => server.last.ws.once("close", (code) => resolve(code)));
		client.close();
		expect(await closed).toBe(1000);
		await sleep(200);
		expect(server.conns.length).toBe(1);
		expect(client.state).toBe("stopped");
		expect(states.at(-1)).toMatchObject({ state: "stopped", previous: "connected" });
	});

	it("close() during getToken leaves no socket behind", async () => {
		server = await FakeInbox.start();
		const gate = deferred<string>();
		const { client } = makeClient({ getToken: () => gate.promise });
		await sleep(10);
		expect(client.state).toBe("connecting");
		client.close();
		gate.resolve("late");
		await sleep(100);
		expect(server.conns.length).toBe(0);
		expect(client.state).toBe("stopped");
	});
});
