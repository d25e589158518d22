import { env, exports } from "cloudflare:workers";
import type { ServerFrame } from "../../../protocol/frames.js";
import { BASE } from "../http.js";

/** A real WebSocket to the inbox through the Worker, collecting every frame it receives. */
/**
 * A WebSocket upgrade on /v1/connect through the Worker, as a device makes it: the raw answer.
 * `protocols` are offered in Sec-WebSocket-Protocol (the client token can travel there).
 */
export function connectRequest(query: Record<string, string>, protocols?: string[]): Promise<Response> {
	return exports.default.fetch(`${BASE}/v1/connect?${new URLSearchParams(query)}`, {
		headers: { upgrade: "websocket", ...(protocols ? { "sec-websocket-protocol": protocols.join(", ") } : {}) },
	});
}

export class TestSocket {
	readonly frames: ServerFrame[] = [];
	closed?: { code: number; reason: string };
	private waiters: (() => void)[] = [];

	private constructor(readonly ws: WebSocket) {
		ws.accept();
		ws.addEventListener("message", (e) => {
			this.frames.push(JSON.parse(e.data as string));
			this.wake();
		});
		ws.addEventListener("close", (e) => {
			this.closed = { code: e.code, reason: e.reason };
			this.wake();
		});
	}

	static async open(token: string, device: string) {
		const res = await connectRequest({ token, device });
		if (!res.webSocket) throw new Error(`no upgrade: ${res.status} ${await res.text()}`);
		return new TestSocket(res.webSocket);
	}

	/** A socket straight to a shard, as the API worker hands it over after checking the token. */
	static async toShard(stub: DurableObjectStub, at: { appId: string; shard: string; userId: string; deviceId: string }) {
		const res = await stub.fetch("http://shard/connect", {
			headers: {
				upgrade: "websocket",
				"x-warbler-app": at.appId,
				"x-warbler-shard": at.shard,
				"x-warbler-user": at.userId,
				"x-warbler-device": at.deviceId,
				"x-warbler-token-exp": String(Math.floor(Date.now() / 1000) + 3600),
				"x-warbler-token-minted": String(Date.now()),
			},
		});
		if (!res.webSocket) throw new Error(`no upgrade: ${res.status} ${await res.text()}`);
		return new TestSocket(res.webSocket);
	}

	/** Waits until every frame the server sent before now has arrived (pong follows them on the socket). */
	/**
	 * Waits until the shard has handled every frame sent before now and everything it sent has
	 * arrived. The ping is spelled with a space: the runtime answers the exact keep-alive text
	 * itself, ahead of frames still queued for the shard, and would not be a barrier.
	 */
	async settle() {
		if (this.closed) return;
		const from = this.frames.length;
		this.send('{"type": "ping"}');
		await this.next((f) => f.type === "pong", from);
	}

	send(frame: unknown) {
		this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
	}

	async hello(lastSeq = 0) {
		this.send({ type: "hello", last_seq: lastSeq });
		return this.next((f) => f.type === "welcome");
	}

	messages() {
		return this.frames.filter((f): f is Extract<ServerFrame, { type: "message" }> => f.type === "message");
	}

	/** Waits for a frame matching `pred` that arrived after `from` frames. */
	async next<T extends ServerFrame>(pred: (f: ServerFrame) => boolean, from = 0, timeoutMs = 5000): Promise<T> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const found = this.frames.slice(from).find(pred);
			if (found) return found as T;
			if (this.closed) throw new Error(`socket closed (${this.closed.code}) before a matching frame`);
			if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames)}`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, 50);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	async waitClosed(timeoutMs = 5000) {
		const deadline = Date.now() + timeoutMs;
		while (!this.closed) {
			if (Date.now() > deadline) throw new Error("socket did not close");
			await new Promise((r) => setTimeout(r, 20));
		}
		return this.closed;
	}

	close() {
		try {
			this.ws.close(1000, "bye");
		} catch {}
	}

	private wake() {
		const w = this.waiters;
		this.waiters = [];
		for (const f of w) f();
	}
}

export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (check(v)) return v;
		if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(v)}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

export const text = (body: string) => ({ type: "text", body });

/** The same bindings, with D1 failing for `failures` statements matching `when` after the first `okFirst`. */
export function flakyD1(when: RegExp, okFirst: number, failures: number): Env & { failed: () => number } {
	let seen = 0;
	let failed = 0;
	const db = new Proxy(env.DB, {
		get(target, prop) {
			if (prop === "prepare") {
				return (sql: string) => {
					if (when.test(sql)) {
						seen++;
						if (seen > okFirst && seen <= okFirst + failures) {
							failed++;
							throw new Error("D1_ERROR: injected outage");
						}
					}
					return target.prepare(sql);
				};
			}
			const value = Reflect.get(target, prop);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { ...env, DB: db, failed: () => failed };
}

/** A plain delivery to one shard (ws only, no policy): the shape the fan-out sends, for shard-level tests. */
export function plainDelivery(at: { appId: string; shard: string }, messageId: string, users: string[], part = 0, tally = false) {
	return {
		appId: at.appId,
		shard: at.shard,
		messageId,
		part,
		content: { type: "text" as const, body: messageId },
		sentAt: new Date().toISOString(),
		expiresAt: Date.now() + 3_600_000,
		cap: 1000,
		live: true,
		channels: "ws" as const,
		defaultTimeZone: "UTC",
		tally,
		targets: users.map((userId) => ({ userId })),
	};
}
