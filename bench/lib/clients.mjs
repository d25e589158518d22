/**
 * The load generator's clients: a child process holding many WebSocket (Warbler protocol) or MQTT
 * connections, driven over IPC by bench/run.mjs. The same code drives the project and both baselines.
 *
 * Every message carries `{s: scenario, t0}` (t0 = the publisher's clock just before its API call, in
 * epoch ms from performance.timeOrigin + performance.now(), which is shared by processes on one
 * machine). A client records receipt time, the id (to find loss and duplicates per device) and, for
 * the Warbler protocol, the seq (to resume and to check order).
 */
import mqtt from "mqtt";
import WebSocket from "ws";

const now = () => performance.timeOrigin + performance.now();

/** @type {Map<number, Client>} */
const clients = new Map();
/** scenario → { count, dup, latencies: number[], firstAt, lastAt, outOfOrder } */
const scenarios = new Map();

function scenario(s) {
	let st = scenarios.get(s);
	if (!st) {
		st = { count: 0, dup: 0, outOfOrder: 0, latencies: [], firstAt: Number.POSITIVE_INFINITY, lastAt: 0, waiters: new Set() };
		scenarios.set(s, st);
	}
	return st;
}

function record(client, id, body, seq) {
	const at = now();
	let meta;
	try {
		meta = typeof body === "string" ? JSON.parse(body) : body;
	} catch {
		meta = { s: "?" };
	}
	const st = scenario(meta.s ?? "?");
	const seen = client.seen.get(id);
	if (seen) {
		client.seen.set(id, seen + 1);
		st.dup++;
		return;
	}
	client.seen.set(id, 1);
	if (seq !== undefined) {
		if (seq <= client.maxSeq) st.outOfOrder++;
		client.maxSeq = Math.max(client.maxSeq, seq);
	}
	st.count++;
	if (typeof meta.t0 === "number") st.latencies.push(at - meta.t0);
	if (at < st.firstAt) st.firstAt = at;
	if (at > st.lastAt) st.lastAt = at;
	for (const w of st.waiters) w();
}

class Client {
	constructor(spec, kind, url) {
		this.spec = spec; // { i, user, device, token?, topics? }
		this.kind = kind; // "warbler" | "mqtt"
		this.url = url;
		this.seen = new Map();
		this.lastSeq = 0;
		this.maxSeq = 0;
		this.conn = undefined;
		this.connected = false;
	}

	connect(timeoutMs) {
		return this.kind === "mqtt" ? this.connectMqtt(timeoutMs) : this.connectWarbler(timeoutMs);
	}

	connectWarbler(timeoutMs) {
		const { user, device, token } = this.spec;
		const q = token ? `token=${encodeURIComponent(token)}&device=${device}` : `user=${user}&device=${device}`;
		const ws = new WebSocket(`${this.url}/v1/connect?${q}`, { perMessageDeflate: false });
		this.conn = ws;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				ws.terminate();
				reject(new Error("welcome timeout"));
			}, timeoutMs);
			ws.on("message", (data) => {
				const f = JSON.parse(String(data));
				if (f.type === "message") {
					this.lastSeq = Math.max(this.lastSeq, f.seq);
					ws.send(`{"type":"ack","seq":${f.seq}}`);
					record(this, f.id, f.content?.body, f.seq);
				} else if (f.type === "welcome") {
					this.connected = true;
					clearTimeout(timer);
					resolve();
				} else if (f.type === "gap") {
					this.lastSeq = Math.max(this.lastSeq, f.to);
					gaps++;
				} else if (f.type === "error") {
					frameErrors++;
				}
			});
			ws.once("open", () => ws.send(`{"type":"hello","last_seq":${this.lastSeq}}`));
			ws.once("error", (err) => {
				clearTimeout(timer);
				reject(err);
			});
			ws.once("unexpected-response", (_req, res) => {
				clearTimeout(timer);
				reject(new Error(`upgrade refused: ${res.statusCode}`));
			});
			ws.once("close", (code) => {
				this.connected = false;
				if (code !== 1000 && code !== 1005 && code !== 1006 && !this.dropping) unexpectedCloses++;
			});
		});
	}

	connectMqtt(timeoutMs) {
		const { device, topics } = this.spec;
		const c = mqtt.connect(this.url, {
			clientId: device,
			clean: false,
			reconnectPeriod: 0,
			connectTimeout: timeoutMs,
			keepalive: 60,
			protocolVersion: 4,
		});
		this.conn = c;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				c.end(true);
				reject(new Error("connack/suback timeout"));
			}, timeoutMs);
			c.on("message", (_topic, payload) => {
				const m = JSON.parse(payload.toString());
				record(this, m.id, m, undefined);
			});
			c.once("connect", (connack) => {
				this.connected = true;
				if (connack.sessionPresent) {
					clearTimeout(timer);
					resolve();
					return;
				}
				c.subscribe(topics, { qos: 1 }, (err) => {
					clearTimeout(timer);
					if (err) reject(err);
					else resolve();
				});
			});
			c.once("error", (err) => {
				clearTimeout(timer);
				reject(err);
			});
			c.on("close", () => {
				this.connected = false;
			});
		});
	}

	/** Drops the connection without a goodbye, like a phone losing its network. */
	drop() {
		this.dropping = true;
		this.connected = false;
		if (this.kind === "mqtt") {
			this.conn?.stream?.destroy();
			this.conn?.end(true);
		} else {
			this.conn?.terminate();
		}
	}

	close() {
		this.dropping = true;
		if (this.kind === "mqtt") this.conn?.end(true);
		else this.conn?.terminate();
	}
}

let gaps = 0;
let frameErrors = 0;
let unexpectedCloses = 0;

async function runBounded(items, limit, fn) {
	let next = 0;
	const errors = [];
	let failed = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) {
				const item = items[next++];
				try {
					await fn(item);
				} catch (err) {
					failed++;
					if (errors.length < 5) errors.push(String(err?.message ?? err));
				}
			}
		}),
	);
	return { failed, errors };
}

const handlers = {
	async connect({ kind, url, specs, concurrency, timeoutMs = 60_000, retries = 2 }) {
		const t0 = now();
		const list = specs.map((s) => {
			const c = new Client(s, kind, url);
			clients.set(s.i, c);
			return c;
		});
		const r = await runBounded(list, concurrency, async (c) => {
			for (let attempt = 0; ; attempt++) {
				try {
					return await c.connect(timeoutMs);
				} catch (err) {
					if (attempt >= retries) throw err;
					await new Promise((res) => setTimeout(res, 200 * (attempt + 1)));
				}
			}
		});
		const up = list.filter((c) => c.connected);
		return { ms: now() - t0, ...r, connected: up.length, connectedIndices: up.map((c) => c.spec.i) };
	},

	drop({ indices }) {
		const at = now();
		for (const i of indices) clients.get(i)?.drop();
		return { at };
	},

	async reconnect({ indices, concurrency, timeoutMs = 120_000, retries = 5 }) {
		const t0 = now();
		const list = indices.map((i) => clients.get(i)).filter(Boolean);
		for (const c of list) c.dropping = false;
		const r = await runBounded(list, concurrency, async (c) => {
			for (let attempt = 0; ; attempt++) {
				try {
					return await c.connect(timeoutMs);
				} catch (err) {
					if (attempt >= retries) throw err;
					await new Promise((res) => setTimeout(res, 250 * (attempt + 1)));
				}
			}
		});
		return { startedAt: t0, doneAt: now(), ...r, connected: list.filter((c) => c.connected).length };
	},

	/** Resolves when the scenario has `count` unique deliveries, or at the timeout. */
	async waitFor({ s, count, timeoutMs }) {
		const st = scenario(s);
		const deadline = now() + timeoutMs;
		while (st.count < count && now() < deadline) {
			await new Promise((resolve) => {
				const done = () => {
					st.waiters.delete(done);
					clearTimeout(timer);
					resolve();
				};
				const timer = setTimeout(done, 100);
				st.waiters.add(done);
			});
		}
		return { count: st.count, reached: st.count >= count };
	},

	/** Latency samples and timing of one scenario (samples are sent whole: the parent merges). */
	stats({ s }) {
		const st = scenario(s);
		return {
			count: st.count,
			dup: st.dup,
			outOfOrder: st.outOfOrder,
			firstAt: st.count ? st.firstAt : null,
			lastAt: st.count ? st.lastAt : null,
			latencies: st.latencies,
		};
	},

	/**
	 * Compares what each client saw with what was sent to it: `shared` ids went to every client in
	 * `sharedIndices`, `byClient[i]` to client i alone. Returns lost (expected, never seen),
	 * duplicates (seen more than once) and unexpected (seen, never sent to it) over those ids.
	 */
	verify({ shared = [], sharedIndices = [], byClient = {} }) {
		const expected = new Map();
		for (const i of sharedIndices) expected.set(i, [...shared]);
		for (const [k, ids] of Object.entries(byClient)) {
			const i = Number(k);
			const list = expected.get(i) ?? [];
			list.push(...ids);
			expected.set(i, list);
		}
		let lost = 0;
		let duplicates = 0;
		let expectedTotal = 0;
		const lostSamples = [];
		for (const [i, ids] of expected) {
			const c = clients.get(i);
			for (const id of ids) {
				expectedTotal++;
				const n = c?.seen.get(id) ?? 0;
				if (n === 0) {
					lost++;
					if (lostSamples.length < 5) lostSamples.push({ client: i, id });
				} else if (n > 1) {
					duplicates += n - 1;
				}
			}
		}
		return { expected: expectedTotal, lost, duplicates, lostSamples };
	},

	counts() {
		let connected = 0;
		for (const c of clients.values()) if (c.connected) connected++;
		return { clients: clients.size, connected, gaps, frameErrors, unexpectedCloses, rssMb: process.memoryUsage().rss / 2 ** 20 };
	},

	closeAll() {
		for (const c of clients.values()) c.close();
		clients.clear();
		scenarios.clear();
		gaps = 0;
		frameErrors = 0;
		unexpectedCloses = 0;
		return { ok: true };
	},
};

process.on("message", async (msg) => {
	const { id, cmd, args } = msg;
	try {
		const result = await handlers[cmd](args ?? {});
		process.send({ id, result });
	} catch (err) {
		process.send({ id, error: String(err?.stack ?? err) });
	}
});
process.on("disconnect", () => process.exit(0));
