/**
 * `npm run bench`: the project (Miniflare, library mode) and two baselines (a raw in-memory `ws`
 * server, Mosquitto QoS 1) under the same load generator and the same N, in one run.
 *
 *   (a) direct pushes to single users at a fixed rate, `--online` users connected: latency from the
 *       API call to receipt;
 *   (b) one tag broadcast to each of `--broadcast` sizes: time to last delivery, deliveries/s;
 *   (c) reconnect storm: every client drops and resumes while messages keep flowing.
 * Every scenario checks loss and duplicates per device. For the project, operations per delivery
 * are counted inside workerd (bench/instrument.mjs) and priced at Cloudflare list prices.
 *
 * Writes bench/results/<timestamp>.json and regenerates BENCHMARKS.md. `--help` lists the options.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { costPerMillion, designModel, PRICES } from "./lib/cost.mjs";
import { findMosquitto, mosquittoVersion } from "./lib/mosquitto.mjs";
import { ClientPool } from "./lib/pool.mjs";
import { renderMarkdown, renderTable } from "./lib/report.mjs";
import { broadcast, broadcastBurst, directPushes, reconnectStorm, usersBatches } from "./lib/scenarios.mjs";
import { now, startMosquittoSystem, startProjectSystem, startWsBaseline } from "./lib/systems.mjs";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(benchDir);

const { values: opt } = parseArgs({
	options: {
		help: { type: "boolean" },
		quick: { type: "boolean" },
		online: { type: "string" },
		rate: { type: "string" },
		seconds: { type: "string" },
		broadcast: { type: "string" },
		reps: { type: "string" },
		"storm-rate": { type: "string" },
		burst: { type: "string" },
		"burst-in-flight": { type: "string" },
		"light-rate": { type: "string" },
		"storm-concurrency": { type: "string" },
		"connect-concurrency": { type: "string" },
		"client-procs": { type: "string" },
		"fd-limit": { type: "string" },
		systems: { type: "string" },
		ref: { type: "string" },
		"no-write": { type: "boolean" },
		render: { type: "string" },
	},
});

if (opt.help) {
	console.log(`npm run bench [-- options]
  --quick                  small sizes for a smoke run (100 online, 50/s for 3 s, broadcasts 100 and 300)
  --online N               users online for direct pushes (1000)
  --rate R --seconds S     direct-push rate and duration (200/s for 10 s)
  --broadcast A,B          broadcast audience sizes (1000,10000); clients beyond --online connect before B
  --reps K                 broadcasts per size (3)
  --light-rate R           a second, light direct-push rate: latency without queueing (20/s)
  --storm-rate R           direct pushes per second during the reconnect storm (20)
  --burst K                (d) broadcasts in a row to the --online users (20)
  --burst-in-flight F      (d) broadcast calls in flight at once (4)
  --storm-concurrency C    reconnects in flight at once during the storm (256)
  --connect-concurrency C  connects in flight at once while ramping up (64)
  --client-procs K         load-generator processes holding the clients (1)
  --fd-limit F             plan the project's capacity as if workerd's open-file limit were F (to try the capping)
  --systems a,b,c          any of ws,mqtt,project (all three)
  --ref REF                benchmark a git commit (snapshot via git archive) instead of the working tree
  --no-write               print only; keep bench/results and BENCHMARKS.md unchanged
  --render FILE.json       regenerate BENCHMARKS.md from an earlier results file, run nothing`);
	process.exit(0);
}

const quick = Boolean(opt.quick);
const num = (v, d) => (v === undefined ? d : Number(v));
const cfg = {
	online: num(opt.online, quick ? 100 : 1000),
	rate: num(opt.rate, quick ? 50 : 200),
	seconds: num(opt.seconds, quick ? 3 : 10),
	broadcast: (opt.broadcast ?? (quick ? "100,300" : "1000,10000")).split(",").map(Number),
	reps: num(opt.reps, quick ? 2 : 3),
	lightRate: num(opt["light-rate"], quick ? 10 : 20),
	stormRate: num(opt["storm-rate"], quick ? 10 : 20),
	burst: num(opt.burst, quick ? 5 : 20),
	burstInFlight: num(opt["burst-in-flight"], 4),
	stormConcurrency: num(opt["storm-concurrency"], 256),
	connectConcurrency: num(opt["connect-concurrency"], 64),
	clientProcs: num(opt["client-procs"], 1),
	fdLimit: opt["fd-limit"] === undefined ? undefined : Number(opt["fd-limit"]),
	systems: (opt.systems ?? "ws,mqtt,project").split(","),
	ref: opt.ref,
	quick,
};

const log = (...a) => console.log(...a);
const tmp = join(benchDir, ".tmp");
mkdirSync(tmp, { recursive: true });

// ---- Environment -----------------------------------------------------------------------------------

function openFileLimits() {
	try {
		const line = readFileSync("/proc/self/limits", "utf8")
			.split("\n")
			.find((l) => l.startsWith("Max open files"));
		const [soft, hard] = line.split(/\s{2,}/).slice(1, 3);
		return { soft: Number(soft), hard: Number(hard) };
	} catch {
		return { soft: null, hard: null };
	}
}

function rssMb(pid) {
	try {
		const line = readFileSync(`/proc/${pid}/status`, "utf8")
			.split("\n")
			.find((l) => l.startsWith("VmRSS:"));
		return Number(line.split(/\s+/)[1]) / 1024;
	} catch {
		return null;
	}
}

function pkgVersion(name) {
	try {
		return JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")).version;
	} catch {
		return null;
	}
}

function git(args, cwd = repoRoot) {
	try {
		return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
	} catch {
		return null;
	}
}

function machine() {
	const cpus = os.cpus();
	return {
		cpu: `${cpus[0]?.model ?? "?"} × ${cpus.length}`,
		memoryGiB: Math.round(os.totalmem() / 2 ** 30),
		os: `${os.type()} ${os.release()}`,
		node: process.version,
		openFiles: openFileLimits(),
		loadAvgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
		miniflare: pkgVersion("miniflare"),
		wrangler: pkgVersion("wrangler"),
		ws: pkgVersion("ws"),
		mqtt: pkgVersion("mqtt"),
	};
}

/** The source tree to benchmark: the working tree, or a snapshot of --ref. */
function sourceRoot() {
	if (!cfg.ref) {
		const status = git(["status", "--porcelain", "--", "workers", "durable-objects", "protocol", "migrations", "wrangler.toml"]);
		return { root: repoRoot, commit: git(["rev-parse", "HEAD"]), dirty: Boolean(status), ref: "working tree" };
	}
	const commit = git(["rev-parse", cfg.ref]);
	if (!commit) throw new Error(`unknown git ref ${cfg.ref}`);
	const dir = join(tmp, `src-${commit.slice(0, 12)}`);
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	execFileSync("sh", ["-c", `git archive ${commit} | tar -x -C "${dir}"`], { cwd: repoRoot });
	return { root: dir, commit, dirty: false, ref: cfg.ref };
}

// ---- One system through every scenario ----------------------------------------------------------

/** Open files of a process by kind: sockets, SQLite files (db, -wal, -shm) and the rest. */
function fdBreakdown(pid) {
	const out = { total: 0, sockets: 0, sqliteDbs: 0, sqliteFiles: 0, other: 0 };
	let names;
	try {
		names = readdirSync(`/proc/${pid}/fd`);
	} catch {
		return null;
	}
	for (const n of names) {
		let target = "";
		try {
			target = readlinkSync(`/proc/${pid}/fd/${n}`);
		} catch {
			continue;
		}
		out.total++;
		if (target.startsWith("socket:")) out.sockets++;
		else if (target.endsWith(".sqlite")) {
			out.sqliteDbs++;
			out.sqliteFiles++;
		} else if (target.endsWith(".sqlite-wal") || target.endsWith(".sqlite-shm")) out.sqliteFiles++;
		else out.other++;
	}
	return out;
}

function fdLimitOf(pid) {
	try {
		const line = readFileSync(`/proc/${pid}/limits`, "utf8")
			.split("\n")
			.find((l) => l.startsWith("Max open files"));
		return Number(line.split(/\s{2,}/)[1]);
	} catch {
		return openFileLimits().soft;
	}
}

/**
 * How many clients workerd can hold under its open-file limit: every WebSocket keeps its socket open.
 * Users live in shards of many users each (one SQLite database, WAL and shared-memory file per shard,
 * not per user), so beyond the sockets only a fixed reserve is needed: the load generator's HTTP
 * connections, the shards' and ledgers' database files, the storm's reconnects in flight.
 */
function projectCapacity(sys, held) {
	const fd = fdBreakdown(sys.pid);
	const limit = cfg.fdLimit ?? fdLimitOf(sys.pid);
	if (!fd || !limit) return { cap: Number.POSITIVE_INFINITY, reason: "open files not measurable here" };
	const socketsPerClient = fd.sockets / held;
	const reserve = 500 + cfg.stormConcurrency + fd.sqliteFiles;
	const cap = Math.floor((0.95 * (limit - reserve)) / socketsPerClient);
	return {
		cap,
		limit,
		measuredAt: { clients: held, ...fd },
		socketsPerClient,
		reserve,
		reason:
			`workerd keeps ${socketsPerClient.toFixed(2)} sockets open per WebSocket client (measured with ${held} held, the load generator's HTTP connections included: one TCP connection per client, which workerd holds twice, as the socket and a dup(2) of it that watches for hangup) and ${fd.sqliteFiles} database files in all (shards and ledgers, not per user). ` +
			`Under the ${limit} open-file limit per process that leaves room for ~${cap} clients.`,
	};
}

async function runSystem(sys, pool, plan) {
	const out = { name: sys.name, label: sys.label, notes: [], connects: [], broadcasts: [] };
	const isProject = sys.name === "project";
	const tags = Object.fromEntries(plan.tagSizes.map((n) => [`bench-${n}`, [0, n]]));
	const connected = new Set();
	let prepared = 0;
	out.setupMs = 0;
	const grow = async (to, extraTags = {}) => {
		const t0 = now();
		const specs = await sys.prepare(prepared, to, { ...tags, ...extraTags });
		out.setupMs += now() - t0;
		const r = await pool.connect(sys.kind, sys.clientUrl, specs, cfg.connectConcurrency);
		for (const i of r.connectedIndices) connected.add(i);
		const rate = (r.connected / r.ms) * 1000;
		log(
			`  connected ${r.connected}/${specs.length} clients in ${(r.ms / 1000).toFixed(1)} s (${rate.toFixed(0)}/s; setup ${((now() - t0 - r.ms) / 1000).toFixed(1)} s)`,
		);
		if (r.failed) log(`  ${r.failed} connects failed: ${r.errors.join("; ")}`);
		prepared = to;
		out.connects.push({ from: specs[0]?.i, to, ...r, connectedIndices: undefined, clientsPerSec: rate });
	};
	const snapshotResources = async () => {
		out.resources = {
			clientsHeld: connected.size,
			serverFds: fdBreakdown(sys.pid),
			serverRssMb: rssMb(sys.pid),
			clients: await pool.counts(),
		};
	};
	const runBroadcast = async (n) => {
		const members = [...connected].filter((i) => i < n).sort((x, y) => x - y);
		const b = await broadcast(sys, pool, { tag: `bench-${n}`, members, reps: cfg.reps, s: `b${n}` });
		b.targeted = n;
		out.broadcasts.push(b);
		log(
			`  (b) broadcast to ${members.length}: median last delivery ${b.medianLastDeliveryMs?.toFixed(0)} ms, ${b.medianDeliveriesPerSec?.toFixed(0)} deliveries/s; lost ${b.lost}, dup ${b.duplicates}`,
		);
		await snapshotResources();
	};

	await grow(cfg.online);
	const warm = await directPushes(sys, pool, { online: cfg.online, rate: 20, seconds: 1, s: "warm", seed: 1 });
	log(`  warm-up: ${warm.delivered}/${warm.accepted} delivered`);
	await new Promise((r) => setTimeout(r, 2000));
	for (const [key, rate] of [
		["directLight", cfg.lightRate],
		["direct", cfg.rate],
	]) {
		const a = await directPushes(sys, pool, { online: cfg.online, rate, seconds: cfg.seconds, s: key });
		out[key] = a;
		log(
			`  (a) direct ${a.rate}/s × ${a.seconds} s to ${a.online} online: p50 ${a.latencyMs.p50?.toFixed(1)} ms, p90 ${a.latencyMs.p90?.toFixed(1)}, p99 ${a.latencyMs.p99?.toFixed(1)}; sustained ${a.sustainedPerSec.toFixed(0)}/s; ${a.delivered}/${a.accepted} delivered, lost ${a.lost}, dup ${a.duplicates}`,
		);
	}
	if (sys.publishUsers) {
		const u = await usersBatches(sys, pool, { online: cfg.online, batches: 20 });
		out.usersBatches = u;
		log(
			`  (a') ${u.batches} messages to ${u.size} users each: p50 ${u.latencyMs.p50?.toFixed(1)} ms, p99 ${u.latencyMs.p99?.toFixed(1)}; ${u.delivered}/${u.expectedDeliveries} delivered, lost ${u.lost}, dup ${u.duplicates}`,
		);
	}
	for (const n of plan.small) await runBroadcast(n);
	{
		const members = [...connected].filter((i) => i < cfg.online).sort((x, y) => x - y);
		if (sys.counters) await new Promise((r) => setTimeout(r, 1000));
		const d = await broadcastBurst(sys, pool, {
			tag: `bench-${cfg.online}`,
			members,
			count: cfg.burst,
			inFlight: cfg.burstInFlight,
		});
		out.burst = d;
		log(
			`  (d) ${d.count} broadcasts to ${d.recipients}, ${d.inFlight} in flight: ${d.deliveriesPerSec?.toFixed(0)} deliveries/s, p50 ${d.latencyMs.p50?.toFixed(0)} ms, p99 ${d.latencyMs.p99?.toFixed(0)} ms; ${d.delivered}/${d.expectedDeliveries} delivered, lost ${d.lost}, dup ${d.duplicates}`,
		);
	}

	let stormN = Math.max(...plan.small, cfg.online);
	for (const want of plan.large) {
		let n = plan.same?.[want] ?? want;
		if (isProject) {
			const c = projectCapacity(sys, connected.size);
			out.capacity = c;
			if (c.cap < want) {
				n = Math.max(cfg.online, c.cap);
				out.notes.push(
					`broadcast to ${want.toLocaleString("en-US")} capped at ${n.toLocaleString("en-US")} clients: ${c.reason}`,
				);
				log(`  capacity: ${c.reason}`);
			}
			tags[`bench-${n}`] = [0, n];
			if (prepared > 0) await sys.tag?.(`bench-${n}`, 0, prepared);
		}
		if (n > prepared) await grow(n);
		await runBroadcast(n);
		out.sameN = { ...(out.sameN ?? {}), [want]: n };
		stormN = n;
	}

	const c = await reconnectStorm(sys, pool, {
		indices: [...connected].filter((i) => i < stormN).sort((x, y) => x - y),
		tag: `bench-${stormN}`,
		rate: cfg.stormRate,
		concurrency: cfg.stormConcurrency,
	});
	out.storm = c;
	log(
		`  (c) storm of ${c.clients}: all reconnected after ${(c.allReconnectedMs / 1000).toFixed(2)} s, caught up after ${(c.caughtUpMs / 1000).toFixed(2)} s; ${c.delivered}/${c.expectedDeliveries} delivered, lost ${c.lost}, dup ${c.duplicates}`,
	);

	// Baselines only: the full requested size too, when the project could not hold it.
	for (const want of plan.large) {
		if (isProject || (plan.same?.[want] ?? want) >= want) continue;
		await grow(want);
		await runBroadcast(want);
	}
	await snapshotResources();
	await pool.closeAll();
	return out;
}

function costs(project) {
	if (!project) return undefined;
	const direct = project.direct?.counters ? costPerMillion(project.direct.counters, project.direct.delivered) : undefined;
	const bcasts = (project.broadcasts ?? [])
		.filter((b) => b.counters)
		.map((b) => ({ recipients: b.recipients, ...costPerMillion(b.counters, b.delivered) }));
	// The storm is priced per reconnect (each with the deliveries it resumed), not per delivery.
	const storm = project.storm?.counters ? costPerMillion(project.storm.counters, project.storm.clients) : undefined;
	const directLight = project.directLight?.counters
		? costPerMillion(project.directLight.counters, project.directLight.delivered)
		: undefined;
	const burst = project.burst?.counters ? costPerMillion(project.burst.counters, project.burst.delivered) : undefined;
	const usersBatch = project.usersBatches?.counters
		? costPerMillion(project.usersBatches.counters, project.usersBatches.delivered)
		: undefined;
	return {
		prices: PRICES,
		direct,
		usersBatch,
		directLight,
		burst,
		broadcasts: bcasts,
		storm,
		design: { direct: designModel("direct"), broadcast: designModel("broadcast") },
	};
}

// ---- Main ------------------------------------------------------------------------------------------

async function main() {
	if (opt.render) {
		const results = JSON.parse(readFileSync(opt.render, "utf8"));
		log(renderTable(results));
		const rel = opt.render.startsWith(repoRoot) ? opt.render.slice(repoRoot.length + 1) : opt.render;
		writeFileSync(join(repoRoot, "BENCHMARKS.md"), renderMarkdown(results, rel));
		log(`\nwrote BENCHMARKS.md from ${rel}`);
		process.exit(0);
	}
	const started = new Date();
	const m = machine();
	log(`Warbler bench ${started.toISOString()}`);
	log(`  ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; open files soft ${m.openFiles.soft} / hard ${m.openFiles.hard}`);
	if (m.openFiles.soft !== null && m.openFiles.soft < 2 * Math.max(...cfg.broadcast) + 1000) {
		log(
			`  note: the open-file limit (${m.openFiles.soft}) may cap the clients held; raise it (ulimit -n, up to the hard limit ${m.openFiles.hard}) before npm run bench`,
		);
	}
	log(`  config: ${JSON.stringify(cfg)}`);

	const mosq = findMosquitto();
	if (!mosq && cfg.systems.includes("mqtt")) {
		log("  Mosquitto not found: skipping the Mosquitto QoS 1 baseline.");
		log("  Install it with: sudo apt-get update && sudo apt-get install -y mosquitto   (macOS: brew install mosquitto)");
	}
	m.mosquitto = mosq ? mosquittoVersion(mosq) : null;

	const src = sourceRoot();
	log(`  project source: ${src.ref} @ ${src.commit?.slice(0, 12)}${src.dirty ? " (with uncommitted changes)" : ""}`);

	const pool = new ClientPool(cfg.clientProcs);
	const results = { startedAt: started.toISOString(), machine: m, config: cfg, source: src, systems: {}, skipped: {} };
	const sizes = [...new Set(cfg.broadcast)].sort((a, b) => a - b);
	const plan = { small: sizes.filter((n) => n <= cfg.online), large: sizes.filter((n) => n > cfg.online), same: {} };
	// The project runs first: the most clients it holds sets N for the baselines' large broadcast.
	const order = ["project", "ws", "mqtt"].filter((s) => cfg.systems.includes(s));
	try {
		for (const name of order) {
			log(`\n== ${name}`);
			let sys;
			try {
				if (name === "ws") sys = await startWsBaseline();
				else if (name === "mqtt") {
					if (!mosq) {
						results.skipped.mqtt = "mosquitto binary not found (apt-get install -y mosquitto)";
						continue;
					}
					sys = await startMosquittoSystem({ bin: mosq, tmp: join(tmp, "mosquitto") });
				} else {
					sys = await startProjectSystem({ root: src.root, tmp: join(tmp, "project"), log });
				}
				const tagSizes = [
					...new Set([cfg.online, ...(name === "project" ? plan.small : [...sizes, ...Object.values(plan.same)])]),
				];
				const t0 = now();
				const load0 = os.loadavg()[0];
				const r = await runSystem(sys, pool, { ...plan, tagSizes });
				r.totalMs = now() - t0;
				r.loadAvg1m = { start: load0, end: os.loadavg()[0] };
				if (name === "project") r.queueConsumers = sys.queueConsumers;
				results.systems[name] = r;
				if (name === "project") plan.same = r.sameN ?? {};
			} catch (err) {
				log(`  ${name} failed: ${err?.stack ?? err}`);
				results.skipped[name] = `failed: ${String(err?.message ?? err)}`;
				await pool.closeAll().catch(() => {});
			} finally {
				await sys?.stop().catch(() => {});
			}
		}
	} finally {
		pool.stop();
		if (cfg.ref) rmSync(src.root, { recursive: true, force: true });
	}
	results.costs = costs(results.systems.project);
	results.machine.loadAvgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
	results.finishedAt = new Date().toISOString();
	results.durationS = (Date.now() - started.getTime()) / 1000;

	log(`\n${renderTable(results)}`);
	if (!opt["no-write"]) {
		const dir = join(benchDir, "results");
		mkdirSync(dir, { recursive: true });
		const file = join(dir, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
		writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
		writeFileSync(join(repoRoot, "BENCHMARKS.md"), renderMarkdown(results, file.slice(repoRoot.length + 1)));
		log(`\nwrote ${file.slice(repoRoot.length + 1)} and BENCHMARKS.md (${results.durationS.toFixed(0)} s in all)`);
	}
	if (!existsSync(join(repoRoot, "BENCHMARKS.md"))) log("(BENCHMARKS.md not written: --no-write)");
	process.exit(0);
}

// Ctrl-C or a kill: exit through process.exit so the broker and Miniflare's workerd go down too.
for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => process.exit(130));

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
