import WebSocket from "ws";
import type { ServerFrame } from "../../protocol/frames.js";

type MessageFrame = Extract<ServerFrame, { type: "message" }>;

/**
 * A bare protocol client for end-to-end tests: hello with its last seq, ack every message,
 * remember everything it was sent so tests can check loss, order and duplicates.
 */
export class RawClient {
	ws?: WebSocket;
	lastSeq = 0;
	/** Every message frame received, in order, across reconnects. */
	readonly received: MessageFrame[] = [];
	readonly frames: ServerFrame[] = [];
	private waiters = new Set<() => void>();

	constructor(
		readonly baseUrl: string,
		readonly token: string,
		readonly deviceId: string,
		readonly autoAck = true,
	) {}

	async connect(): Promise<Extract<ServerFrame, { type: "welcome" }>> {
		const url = `${this.baseUrl.replace(/^http/, "ws")}/v1/connect?token=${encodeURIComponent(this.token)}&device=${this.deviceId}`;
		const ws = new WebSocket(url);
		this.ws = ws;
		const before = this.frames.length;
		ws.on("message", (data) => {
			const frame = JSON.parse(String(data)) as ServerFrame;
			this.frames.push(frame);
			if (frame.type === "message") {
				this.received.push(frame);
				this.lastSeq = Math.max(this.lastSeq, frame.seq);
				if (this.autoAck) ws.send(JSON.stringify({ type: "ack", seq: frame.seq }));
			} else if (frame.type === "gap") {
				this.lastSeq = Math.max(this.lastSeq, frame.to);
			}
			for (const w of this.waiters) w();
		});
		await new Promise<void>((resolve, reject) => {
			ws.once("open", () => resolve());
			ws.once("error", reject);
			ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
		});
		ws.send(JSON.stringify({ type: "hello", last_seq: this.lastSeq }));
		return this.waitFor((f) => f.type === "welcome", before) as Promise<Extract<ServerFrame, { type: "welcome" }>>;
	}

	/** Drops the connection without a close handshake, like a phone losing its network. */
	drop() {
		this.ws?.terminate();
	}

	close() {
		this.ws?.close(1000);
	}

	ids(): string[] {
		return this.received.map((m) => m.id);
	}

	async waitFor(pred: (f: ServerFrame) => boolean, from = 0, timeoutMs = 30_000): Promise<ServerFrame> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const hit = this.frames.slice(from).find(pred);
			if (hit) return hit;
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`${this.deviceId}: no matching frame in ${timeoutMs} ms`);
			await new Promise<void>((resolve) => {
				const done = () => {
					this.waiters.delete(done);
					clearTimeout(timer);
					resolve();
				};
				const timer = setTimeout(done, Math.min(left, 200));
				this.waiters.add(done);
			});
		}
	}

	async waitForCount(n: number, timeoutMs = 60_000) {
		const deadline = Date.now() + timeoutMs;
		while (new Set(this.ids()).size < n) {
			if (Date.now() > deadline) throw new Error(`${this.deviceId}: ${this.ids().length}/${n} messages`);
			await new Promise((r) => setTimeout(r, 50));
		}
	}
}
