/** The client processes (bench/lib/clients.mjs), addressed as one pool; client i lives in process i % k. */
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export class ClientPool {
	constructor(k) {
		this.k = k;
		this.procs = [];
		this.pending = new Map();
		this.seq = 0;
		for (let p = 0; p < k; p++) {
			const child = fork(join(here, "clients.mjs"), [], {
				serialization: "advanced",
				stdio: ["ignore", "inherit", "inherit", "ipc"],
				execArgv: ["--max-old-space-size=8192"],
			});
			child.on("message", (m) => {
				const w = this.pending.get(m.id);
				if (!w) return;
				this.pending.delete(m.id);
				if (m.error) w.reject(new Error(m.error));
				else w.resolve(m.result);
			});
			child.on("exit", (code, sig) => {
				for (const [id, w] of this.pending) {
					if (w.proc === p) {
						this.pending.delete(id);
						w.reject(new Error(`client process ${p} exited (${code ?? sig})`));
					}
				}
			});
			child.on("error", () => {});
			this.procs.push(child);
		}
	}

	callOne(p, cmd, args) {
		const id = ++this.seq;
		return new Promise((resolve, reject) => {
			if (!this.procs[p].connected) {
				reject(new Error(`client process ${p} is gone`));
				return;
			}
			this.pending.set(id, { resolve, reject, proc: p });
			this.procs[p].send({ id, cmd, args });
		});
	}

	callAll(cmd, argsFor) {
		return Promise.all(this.procs.map((_, p) => this.callOne(p, cmd, typeof argsFor === "function" ? argsFor(p) : argsFor)));
	}

	part(items, p, key = (x) => x.i ?? x) {
		return items.filter((x) => key(x) % this.k === p);
	}

	async connect(kind, url, specs, concurrency) {
		const per = Math.max(1, Math.ceil(concurrency / this.k));
		const rs = await this.callAll("connect", (p) => ({ kind, url, specs: this.part(specs, p), concurrency: per }));
		return {
			ms: Math.max(...rs.map((r) => r.ms)),
			failed: rs.reduce((a, r) => a + r.failed, 0),
			connected: rs.reduce((a, r) => a + r.connected, 0),
			connectedIndices: rs.flatMap((r) => r.connectedIndices),
			errors: rs.flatMap((r) => r.errors).slice(0, 5),
		};
	}

	async drop(indices) {
		const rs = await this.callAll("drop", (p) => ({ indices: this.part(indices, p) }));
		return Math.max(...rs.map((r) => r.at));
	}

	async reconnect(indices, concurrency) {
		const per = Math.max(1, Math.ceil(concurrency / this.k));
		const rs = await this.callAll("reconnect", (p) => ({ indices: this.part(indices, p), concurrency: per }));
		return {
			doneAt: Math.max(...rs.map((r) => r.doneAt)),
			failed: rs.reduce((a, r) => a + r.failed, 0),
			connected: rs.reduce((a, r) => a + r.connected, 0),
			errors: rs.flatMap((r) => r.errors).slice(0, 5),
		};
	}

	/** Waits until the scenario's unique deliveries summed over processes reach `count`. */
	async waitFor(s, count, timeoutMs) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const rs = await this.callAll("waitFor", { s, count: 0, timeoutMs: 0 });
			const total = rs.reduce((a, r) => a + r.count, 0);
			if (total >= count || Date.now() > deadline) return { count: total, reached: total >= count };
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	async stats(s) {
		const rs = await this.callAll("stats", { s });
		const latencies = rs.flatMap((r) => r.latencies);
		const firsts = rs.map((r) => r.firstAt).filter((x) => x !== null);
		const lasts = rs.map((r) => r.lastAt).filter((x) => x !== null);
		return {
			count: rs.reduce((a, r) => a + r.count, 0),
			dup: rs.reduce((a, r) => a + r.dup, 0),
			outOfOrder: rs.reduce((a, r) => a + r.outOfOrder, 0),
			firstAt: firsts.length ? Math.min(...firsts) : null,
			lastAt: lasts.length ? Math.max(...lasts) : null,
			latencies,
		};
	}

	async verify({ shared = [], sharedIndices = [], byClient = {} }) {
		const rs = await this.callAll("verify", (p) => {
			const mine = {};
			for (const [i, ids] of Object.entries(byClient)) if (Number(i) % this.k === p) mine[i] = ids;
			return { shared, sharedIndices: this.part(sharedIndices, p), byClient: mine };
		});
		return {
			expected: rs.reduce((a, r) => a + r.expected, 0),
			lost: rs.reduce((a, r) => a + r.lost, 0),
			duplicates: rs.reduce((a, r) => a + r.duplicates, 0),
			lostSamples: rs.flatMap((r) => r.lostSamples).slice(0, 5),
		};
	}

	async counts() {
		const rs = await this.callAll("counts", {});
		const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
		return {
			clients: sum("clients"),
			connected: sum("connected"),
			gaps: sum("gaps"),
			frameErrors: sum("frameErrors"),
			unexpectedCloses: sum("unexpectedCloses"),
			rssMb: sum("rssMb"),
		};
	}

	closeAll() {
		return this.callAll("closeAll", {});
	}

	/** CPU seconds used so far by the client processes. */
	cpuSeconds() {
		return this.procs.reduce((a, c) => a + (cpuSecondsOf(c.pid) ?? 0), 0);
	}

	stop() {
		for (const c of this.procs) c.disconnect();
	}
}

/** utime + stime of a process, in seconds (Linux /proc; undefined elsewhere). */
export function cpuSecondsOf(pid) {
	if (!pid) return undefined;
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return (Number(fields[11]) + Number(fields[12])) / 100;
	} catch {
		return undefined;
	}
}
