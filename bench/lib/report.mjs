/** The results table (terminal and Markdown) and BENCHMARKS.md. */

const COLS = [
	["project", "Warbler"],
	["ws", "raw ws"],
	["mqtt", "Mosquitto QoS 1"],
];

const f0 = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Math.round(x).toLocaleString("en-US"));
const f1 = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : x.toFixed(1));
const f2 = (x) => {
	if (x === null || x === undefined || Number.isNaN(x)) return "–";
	// Small but not zero (e.g. one queue invocation per thousand recipients): keep it visible.
	return x !== 0 && Math.abs(x) < 0.01 ? x.toFixed(4) : x.toFixed(2);
};
const usd = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : `$${x.toFixed(3)}`);
const ratio = (a, b) => {
	if (a === null || a === undefined || !b) return "–";
	const x = a / b;
	return `${x >= 100 ? Math.round(x).toLocaleString("en-US") : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
};

function med(xs) {
	const s = xs.filter((x) => typeof x === "number").sort((a, b) => a - b);
	return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
}

/** Rows: [label, value per system (number|null), formatter, better ("lower"|"higher"|null)]. */
function rows(r) {
	const S = r.systems;
	const get = (name, fn) => {
		const s = S[name];
		if (!s) return null;
		try {
			return fn(s) ?? null;
		} catch {
			return null;
		}
	};
	const out = [];
	const add = (label, fn, fmt, better = null) =>
		out.push({ label, values: Object.fromEntries(COLS.map(([n]) => [n, get(n, fn)])), fmt, better });
	const cfg = r.config;
	add(`(a) direct ${cfg.lightRate}/s × ${cfg.seconds} s (light): p50 ms`, (s) => s.directLight.latencyMs.p50, f1, "lower");
	add(`(a) direct ${cfg.lightRate}/s (light): p99 ms`, (s) => s.directLight.latencyMs.p99, f1, "lower");
	add(`(a) direct ${cfg.rate}/s × ${cfg.seconds} s, ${cfg.online} online: p50 ms`, (s) => s.direct.latencyMs.p50, f1, "lower");
	add(`(a) direct ${cfg.rate}/s: p90 ms`, (s) => s.direct.latencyMs.p90, f1, "lower");
	add(`(a) direct ${cfg.rate}/s: p99 ms`, (s) => s.direct.latencyMs.p99, f1, "lower");
	add(`(a) direct ${cfg.rate}/s: API call p99 ms (until 202 / PUBACK)`, (s) => s.direct.apiMs.p99, f1, "lower");
	add(`(a) direct ${cfg.rate}/s: pushes/s sustained`, (s) => s.direct.sustainedPerSec, f0, "higher");
	add(
		"(a) delivered / accepted (both rates)",
		(s) => `${s.directLight.delivered + s.direct.delivered}/${s.directLight.accepted + s.direct.accepted}`,
		String,
	);
	add(
		"(a) lost / duplicates (both rates)",
		(s) => `${s.directLight.lost + s.direct.lost} / ${s.directLight.duplicates + s.direct.duplicates}`,
		String,
	);
	add(
		`(a) server CPU ms per delivery (${cfg.rate}/s)`,
		(s) => (s.direct.usage.serverCpuS * 1000) / s.direct.delivered,
		f2,
		"lower",
	);
	const sizes = [...new Set(Object.values(S).flatMap((s) => (s.broadcasts ?? []).map((b) => b.targeted)))].sort((a, b) => a - b);
	for (const n of sizes) {
		const pick = (s) => s.broadcasts.find((b) => b.targeted === n);
		add(`(b) broadcast to ${n.toLocaleString("en-US")}: recipients online`, (s) => pick(s).recipients, f0);
		add(
			`(b) ${n.toLocaleString("en-US")}: first delivery ms (median)`,
			(s) => med(pick(s).runs.map((x) => x.firstDeliveryMs)),
			f0,
			"lower",
		);
		add(
			`(b) ${n.toLocaleString("en-US")}: time to last delivery ms (median of ${cfg.reps})`,
			(s) => pick(s).medianLastDeliveryMs,
			f0,
			"lower",
		);
		add(`(b) ${n.toLocaleString("en-US")}: deliveries/s (median)`, (s) => pick(s).medianDeliveriesPerSec, f0, "higher");
		add(
			`(b) ${n.toLocaleString("en-US")}: server CPU ms per delivery`,
			(s) => (pick(s).usage.serverCpuS * 1000) / pick(s).delivered,
			f2,
			"lower",
		);
		add(
			`(b) ${n.toLocaleString("en-US")}: lost / duplicates (all reps)`,
			(s) => `${pick(s).lost} / ${pick(s).duplicates}`,
			String,
		);
	}
	add(
		`(d) ${cfg.burst ?? 20} broadcasts to ${cfg.online}, ${cfg.burstInFlight ?? 4} in flight: deliveries/s`,
		(s) => s.burst.deliveriesPerSec,
		f0,
		"higher",
	);
	add("(d) p50 latency ms", (s) => s.burst.latencyMs.p50, f0, "lower");
	add("(d) p99 latency ms", (s) => s.burst.latencyMs.p99, f0, "lower");
	add("(d) server CPU ms per delivery", (s) => (s.burst.usage.serverCpuS * 1000) / s.burst.delivered, f2, "lower");
	add("(d) lost / duplicates", (s) => `${s.burst.lost} / ${s.burst.duplicates}`, String);
	add("(c) storm: clients", (s) => s.storm.clients, f0);
	add("(c) storm: all reconnected, s after the drop", (s) => s.storm.allReconnectedMs / 1000, f2, "lower");
	add("(c) storm: all caught up, s after the drop", (s) => s.storm.caughtUpMs / 1000, f2, "lower");
	add("(c) storm: delivered / expected", (s) => `${s.storm.delivered}/${s.storm.expectedDeliveries}`, String);
	add("(c) storm: lost / duplicates", (s) => `${s.storm.lost} / ${s.storm.duplicates}`, String);
	add(
		"(c) storm: API calls failed at the client (timeout 120 s) / of those delivered anyway",
		(s) => `${s.storm.directsFailedAtClient} / ${s.storm.deliveredWithoutAccept}`,
		String,
	);
	add("ramp-up connects/s (first connect of each client)", (s) => s.connects[0].clientsPerSec, f0, "higher");
	add("load generator CPU s during (a) at the full rate", (s) => s.direct.usage.clientCpuS, f1);
	add("clients held at the end", (s) => s.resources.clientsHeld, f0);
	add(
		"1-minute load average at start / end of the system's run",
		(s) => `${f1(s.loadAvg1m.start)} / ${f1(s.loadAvg1m.end)}`,
		String,
	);
	add("wall time of the system's run, s", (s) => s.totalMs / 1000, f0);
	add("server open files at the end", (s) => s.resources.serverFds?.total, f0);
	add("server RSS MiB at the end", (s) => s.resources.serverRssMb, f0, "lower");
	return out;
}

function table(r, md) {
	const present = COLS.filter(([n]) => r.systems[n] || r.skipped?.[n]);
	const header = ["", ...present.map(([, l]) => l), "Warbler / raw ws", "Warbler / Mosquitto"];
	const lines = [];
	for (const row of rows(r)) {
		const cells = present.map(([n]) => (row.values[n] === null ? (r.skipped?.[n] ? "skipped" : "–") : row.fmt(row.values[n])));
		const p = row.values.project;
		const num = typeof p === "number";
		cells.push(num && row.better ? ratio(p, row.values.ws) : "", num && row.better ? ratio(p, row.values.mqtt) : "");
		lines.push([row.label, ...cells]);
	}
	if (md) {
		return [
			`| ${header.join(" | ")} |`,
			`| ${header.map((_, k) => (k === 0 ? "---" : "---:")).join(" | ")} |`,
			...lines.map((l) => `| ${l.join(" | ")} |`),
		].join("\n");
	}
	const all = [header, ...lines];
	const widths = header.map((_, k) => Math.max(...all.map((l) => String(l[k]).length)));
	return all
		.map((l) => l.map((c, k) => (k === 0 ? String(c).padEnd(widths[k]) : String(c).padStart(widths[k]))).join("  "))
		.join("\n");
}

/** The delivery-core issue's targets, each against Mosquitto QoS 1 in the same run where it is a ratio. */
export function targets(r) {
	const P = r.systems.project;
	const Q = r.systems.mqtt;
	const out = [];
	const t = (target, measured, pass) => out.push({ target, measured, pass });
	if (P && Q) {
		for (const b of P.broadcasts) {
			const qb = Q.broadcasts.find((x) => x.targeted === b.targeted);
			if (!qb) continue;
			const pv = b.medianDeliveriesPerSec;
			const qv = qb.medianDeliveriesPerSec;
			t(
				`Broadcast to ${b.targeted.toLocaleString("en-US")}: deliveries/s ≥ 0.5× Mosquitto`,
				`${f0(pv)}/s vs ${f0(qv)}/s (${ratio(pv, qv)})`,
				pv >= 0.5 * qv,
			);
		}
		if (P.burst && Q.burst) {
			const pv = P.burst.deliveriesPerSec;
			const qv = Q.burst.deliveriesPerSec;
			t(
				`(d) ${P.burst.count} broadcasts in a row: deliveries/s ≥ 0.5×`,
				`${f0(pv)}/s vs ${f0(qv)}/s (${ratio(pv, qv)})`,
				pv >= 0.5 * qv,
			);
		}
		const pl = P.directLight.latencyMs.p99;
		const ql = Q.directLight.latencyMs.p99;
		t(`Direct at ${r.config.lightRate}/s: p99 ≤ 3×`, `${f1(pl)} ms vs ${f1(ql)} ms (${ratio(pl, ql)})`, pl <= 3 * ql);
		const ps = P.direct.sustainedPerSec;
		const qs = Q.direct.sustainedPerSec;
		t(`Direct offered ${r.config.rate}/s: sustained 1.0×`, `${f0(ps)}/s vs ${f0(qs)}/s (${ratio(ps, qs)})`, ps >= 0.99 * qs);
		const p = P.direct.latencyMs.p99;
		const q = Q.direct.latencyMs.p99;
		t(`Direct offered ${r.config.rate}/s: p99 ≤ 10×`, `${f1(p)} ms vs ${f1(q)} ms (${ratio(p, q)})`, p <= 10 * q);
		const pc = P.storm.caughtUpMs;
		const qc = Q.storm.caughtUpMs;
		t(
			`Reconnect storm of ${P.storm.clients.toLocaleString("en-US")}: all caught up ≤ 3×`,
			`${f2(pc / 1000)} s vs ${f2(qc / 1000)} s (${ratio(pc, qc)})`,
			pc <= 3 * qc,
		);
		const pr = P.connects[0]?.clientsPerSec;
		const qr = Q.connects[0]?.clientsPerSec;
		t("First-connect rate ≥ 0.5×", `${f0(pr)}/s vs ${f0(qr)}/s (${ratio(pr, qr)})`, pr >= 0.5 * qr);
	} else {
		t("Ratios to Mosquitto QoS 1", "Mosquitto baseline not run", null);
	}
	if (P) {
		const cpu = (P.direct.usage.serverCpuS * 1000) / P.direct.delivered;
		t("Server CPU per direct push ≤ 1 ms", `${f2(cpu)} ms`, cpu <= 1);
		const all = [P.directLight, P.direct, P.usersBatches, ...P.broadcasts, P.burst, P.storm].filter(Boolean);
		const lost = all.reduce((n, x) => n + (x.lost ?? 0), 0);
		const dup = all.reduce((n, x) => n + (x.duplicates ?? 0), 0);
		t("Lost / duplicates: 0 / 0 everywhere", `${lost} / ${dup}`, lost === 0 && dup === 0);
	}
	const c = r.costs;
	if (c?.direct) {
		const b = c.broadcasts.at(-1);
		const worstB = Math.max(...c.broadcasts.map((x) => x.allInUsdPerMillion), c.burst?.allInUsdPerMillion ?? 0);
		t(
			"Broadcast ≤ $0.02 per million deliveries, DO SQLite rows included",
			`${c.broadcasts.map((x) => `${x.recipients.toLocaleString("en-US")}: ${usd(x.allInUsdPerMillion)}`).join("; ")}${c.burst ? `; (d): ${usd(c.burst.allInUsdPerMillion)}` : ""} (largest: ${usd(b?.allInUsdPerMillion)})`,
			worstB <= 0.02,
		);
		t(
			"Single-user push ≤ $1.50 per million (floor $0.45), DO SQLite rows included",
			`${usd(c.direct.allInUsdPerMillion)}`,
			c.direct.allInUsdPerMillion <= 1.5,
		);
		t(
			"`users` batches of 100 ≤ $0.20 per million, DO SQLite rows included",
			c.usersBatch ? usd(c.usersBatch.allInUsdPerMillion) : "not run",
			c.usersBatch ? c.usersBatch.allInUsdPerMillion <= 0.2 : null,
		);
	}
	return out;
}

const mark = (p) => (p === null ? "n/a" : p ? "PASS" : "FAIL");

export function renderTable(r) {
	const lines = [table(r, false), "", "Targets:"];
	for (const t of targets(r)) lines.push(`  [${mark(t.pass)}] ${t.target}: ${t.measured}`);
	if (r.costs?.direct) {
		lines.push("", costTable(r.costs, false));
	}
	for (const [n, why] of Object.entries(r.skipped ?? {})) lines.push(`(${n} skipped: ${why})`);
	return lines.join("\n");
}

function costTable(c, md) {
	const cols = [
		["direct push", c.direct],
		...(c.usersBatch ? [["`users` list of 100", c.usersBatch]] : []),
		...c.broadcasts.map((b) => [`broadcast ${b.recipients.toLocaleString("en-US")}`, b]),
		...(c.burst ? [["(d) broadcasts in a row", c.burst]] : []),
		...(c.storm ? [["storm, per reconnect (incl. the pushes during it)", c.storm]] : []),
	];
	const rowsC = [
		["Worker requests", (x) => f2(x.perDelivery.workerRequests)],
		["  of which API/WS fetches", (x) => f2(x.perDelivery.workerFetch)],
		["  of which queue consumer invocations", (x) => f2(x.perDelivery.workerQueueInvocations)],
		["DO requests (billed)", (x) => f2(x.perDelivery.doRequests)],
		["  RPC calls", (x) => f2(x.perDelivery.doRpc)],
		["  fetch (WebSocket upgrades)", (x) => f2(x.perDelivery.doFetch)],
		["  alarm invocations", (x) => f2(x.perDelivery.doAlarms)],
		["  incoming WS messages (÷20 when billed)", (x) => f2(x.perDelivery.doWsMessagesIn)],
		["Queue operations", (x) => f2(x.perDelivery.queueOps)],
		["D1 rows written", (x) => f2(x.perDelivery.d1RowsWritten)],
		["D1 rows read", (x) => f2(x.perDelivery.d1RowsRead)],
		["USD per million (issue's price list)", (x) => usd(x.usdPerMillion.total)],
		[
			"  Workers / DO / Queues / D1 written / D1 read",
			(x) =>
				[
					x.usdPerMillion.workerRequests,
					x.usdPerMillion.doRequests,
					x.usdPerMillion.queueOps,
					x.usdPerMillion.d1RowsWritten,
					x.usdPerMillion.d1RowsRead,
				]
					.map((v) => v.toFixed(3))
					.join(" / "),
		],
		["DO SQLite rows written (not in the issue's list)", (x) => f2(x.perDelivery.doSqlRowsWritten)],
		...[...new Set([c.direct, ...c.broadcasts].flatMap((x) => Object.keys(x.doSql)))].map((cls) => [
			`  by ${cls}`,
			(x) => f2((x.doSql[cls]?.rowsWritten ?? 0) / x.deliveries),
		]),
		["DO SQLite rows read", (x) => f2(x.perDelivery.doSqlRowsRead)],
		["DO setAlarm calls", (x) => f2(x.perDelivery.doSetAlarm)],
		["USD per million incl. DO storage rows", (x) => usd(x.allInUsdPerMillion)],
	];
	const header = ["per delivered message (storm: per reconnect)", ...cols.map(([l]) => l)];
	const body = rowsC.map(([l, fn]) => [l, ...cols.map(([, x]) => fn(x))]);
	if (md) {
		return [
			`| ${header.join(" | ")} |`,
			`| ${header.map((_, k) => (k ? "---:" : "---")).join(" | ")} |`,
			...body.map((l) => `| ${l.join(" | ")} |`),
		].join("\n");
	}
	const all = [header, ...body];
	const widths = header.map((_, k) => Math.max(...all.map((l) => String(l[k]).length)));
	return all
		.map((l) => l.map((cell, k) => (k ? String(cell).padStart(widths[k]) : String(cell).padEnd(widths[k]))).join("  "))
		.join("\n");
}

function rpcBreakdown(c) {
	const cols = [
		["direct", c.direct],
		...(c.usersBatch ? [["users ×100", c.usersBatch]] : []),
		...c.broadcasts.map((b) => [`broadcast ${b.recipients}`, b]),
		...(c.storm ? [["storm (per reconnect)", c.storm]] : []),
	];
	const methods = [...new Set(cols.flatMap(([, x]) => Object.keys(x.rpcByMethod)))].sort();
	const lines = [
		`| DO requests per delivery, by kind | ${cols.map(([l]) => l).join(" | ")} |`,
		`| --- | ${cols.map(() => "---:").join(" | ")} |`,
	];
	for (const m of methods)
		lines.push(`| ${m} | ${cols.map(([, x]) => f2((x.rpcByMethod[m] ?? 0) / x.deliveries)).join(" | ")} |`);
	for (const [label, key] of [
		["alarm() invocations", (x) => x.totals.doAlarms],
		["fetch() (WebSocket upgrades)", (x) => x.totals.doFetch],
		["incoming WebSocket messages (billed ÷20)", (x) => x.totals.doWsMessagesIn],
		...Object.keys(c.direct.doStarted).map((cls) => [
			`${cls} objects started (not billed; new or woken)`,
			(x) => x.doStarted[cls] ?? 0,
		]),
	]) {
		lines.push(`| ${label} | ${cols.map(([, x]) => f2(key(x) / x.deliveries)).join(" | ")} |`);
	}
	return lines.join("\n");
}

/** Where the project's time and money go, from this run's numbers. */
function findings(r) {
	const P = r.systems.project;
	const c = r.costs;
	const d = c.direct;
	const big = c.broadcasts.at(-1);
	const cpu = (s) => (s ? (s.direct.usage.serverCpuS * 1000) / s.direct.delivered : null);
	const rpc = (x, m) => (x.rpcByMethod[m] ?? 0) / x.deliveries;
	const out = ["## What dominates (Warbler, this run)", ""];
	out.push(
		`- **CPU per direct push**: ${f1(cpu(P))} ms of workerd CPU per delivered push at ${r.config.rate}/s (raw ws ${f2(cpu(r.systems.ws))} ms, Mosquitto ${f2(cpu(r.systems.mqtt))} ms). Offered ${r.config.rate}/s, the project answered ${f0(P.direct.sustainedPerSec)}/s, so at that rate latency is mostly queueing; the light rate (${r.config.lightRate}/s) shows the unloaded latency.`,
	);
	const started = d.doStarted?.MessageLedger;
	if (started !== undefined) {
		out.push(
			`- **One new Durable Object per message**: ${f2(started / d.deliveries)} MessageLedger objects were started per direct push (${f2((d.doSql.MessageLedger?.rowsWritten ?? 0) / d.deliveries)} SQLite rows written in them per push, schema included). Every message creates a fresh SQLite-backed object and calls it ${f2(
				Object.entries(d.rpcByMethod)
					.filter(([k]) => k.startsWith("LEDGER."))
					.reduce((a, [, v]) => a + v, 0) / d.deliveries,
			)} times.`,
		);
	}
	out.push(
		`- **DO requests beyond the design floor**: ${f2(d.perDelivery.doRequests)} billed DO requests per direct push and ${f2(big?.perDelivery.doRequests)} per broadcast recipient, against the design's ${c.design.direct.doRequests} and ${c.design.broadcast.doRequests}: alarm() invocations add ${f2(d.perDelivery.doAlarms)} / ${f2(big?.perDelivery.doAlarms)} per delivery, shard count reports (LEDGER.shardCounts) ${f2(rpc(d, "LEDGER.shardCounts"))} / ${f2(big ? rpc(big, "LEDGER.shardCounts") : null)}, incoming acks ${f2(d.perDelivery.doWsMessagesIn / 20)} (÷20).`,
	);
	out.push(
		`- **D1 per direct push**: ${f2(d.perDelivery.d1RowsWritten)} rows written ($${(d.perDelivery.d1RowsWritten * c.prices.d1RowsWritten).toFixed(2)} per million on its own) and ${f2(d.perDelivery.d1RowsRead)} rows read; a broadcast spreads its writes over its recipients (${f2(big?.perDelivery.d1RowsWritten)} per recipient).`,
	);
	out.push(
		`- **Floor of a single-user push**: one Worker request ($0.30/M) plus one DO request ($0.15/M) is already $0.45/M, so the $0.20/M target can only be met per recipient of a multi-recipient message.`,
	);
	out.push(
		`- **DO storage rows** (billed since January 2026, not in the issue's list): ${f2(d.perDelivery.doSqlRowsWritten)} SQLite rows written per direct push and ${f2(big?.perDelivery.doSqlRowsWritten)} per broadcast recipient (UserShard ${f2((d.doSql.UserShard?.rowsWritten ?? 0) / d.deliveries)} / ${f2(big ? (big.doSql.UserShard?.rowsWritten ?? 0) / big.deliveries : null)}), i.e. $${d.doStorageUsdPerMillion.toFixed(2)} and $${big?.doStorageUsdPerMillion.toFixed(2)} per million at $1.00/M rows.`,
	);
	out.push("", "## What limits the targets this design does not meet", "");
	const connectRate = P.connects?.[0]?.clientsPerSec;
	out.push(
		`- **Direct-push latency and CPU** (p99 ≤ 3× / ≤ 10×, CPU ≤ 1 ms): a push is an authenticated HTTP call that reads the key with its app (one D1 query), writes the message record (one D1 row, ${f2(d.perDelivery.d1RowsWritten)} measured), makes one shard RPC that writes the inbox entry (${f2((d.doSql.UserShard?.rowsWritten ?? 0) / d.deliveries)} SQLite rows) and sends the frame, then takes the device's ack; Mosquitto appends to memory. The ${f1(cpu(P))} ms of workerd CPU per push here also holds what runs elsewhere on Cloudflare (the D1 simulator, the HTTP server, the queue simulator). A push cannot skip the D1 record while \`GET /v1/messages/{id}\`, recall and idempotency keys find messages there.`,
	);
	out.push(
		"- **Broadcast rates at the largest size and (d)**: locally every shard, the Worker and D1 share one workerd thread, so a fan-out's rate is this machine's CPU divided by the work per delivery (one socket send, the frame's seq prefix, the ack back); more shards do not add threads here. On Cloudflare each shard is its own object on its own thread.",
	);
	if (connectRate) {
		out.push(
			`- **First-connect rate** (${f0(connectRate)}/s): a device's first connect verifies its token, creates the user and device in the shard (written at once, so no message can slip past a device the shard forgot) and registers the device in D1 (two rows); later connects skip the D1 part. One thread does all of it locally.`,
		);
	}
	out.push(
		`- **Single-user push cost**: a Worker request ($0.30/M) and a DO request ($0.15/M) are the floor ($0.45/M); the message record in D1 ($1.00/M rows written) and the inbox entry in the shard (~$1.00/M DO rows) each add about a dollar. Meeting $1.50/M needs one of the two records gone: keeping direct messages only in their shard would move message lookups, recall and idempotency there.`,
	);
	out.push(
		"- **Broadcast cost at 1,000 recipients**: a broadcast's fixed rows (its ledger's state and jobs, the shard's entry and flushed positions, the D1 message row) are spread over its recipients; at 1,000 recipients they come to a few cents per million deliveries, at 10,000 to under $0.02.",
	);
	out.push(
		"- **10,000 clients on one local stack**: workerd holds two file descriptors per TCP connection (the socket and a dup(2) that watches for hang-up), so 10,000 WebSockets need more than the 20,000 open files this machine allows a process; `ulimit -n 32768` removes the limit (README: Open files). Deployed, sockets spread over shards and machines.",
	);
	return out;
}

function queueText(r) {
	const qc = r.systems.project?.queueConsumers;
	if (!qc) return "see wrangler.toml";
	return Object.entries(qc)
		.map(
			([q, c]) =>
				`${q} max_batch_size ${c.maxBatchSize ?? "default"}, max_batch_timeout ${c.maxBatchTimeout ?? "default"} s${c.deadLetterQueue ? `, DLQ ${c.deadLetterQueue}` : ""}`,
		)
		.join("; ");
}

export function renderMarkdown(r, resultFile) {
	const m = r.machine;
	const cfg = r.config;
	const P = r.systems.project;
	const lines = [];
	lines.push("# Benchmarks");
	lines.push("");
	lines.push(
		`Generated by \`npm run bench\` (bench/run.mjs) on ${r.startedAt.slice(0, 19).replace("T", " ")} UTC in ${Math.round(r.durationS)} s; raw results in \`${resultFile}\`. Project source: ${r.source.ref} at \`${r.source.commit?.slice(0, 12)}\`${r.source.dirty ? " with uncommitted changes" : ""}.`,
	);
	lines.push("");
	lines.push(
		"Run it with `npm run bench` (about 10 minutes; `npm run bench -- --help` lists the sizes and rates; `--quick` is a one-minute smoke run). Mosquitto comes from the system: `sudo apt-get install -y mosquitto` (Debian/Ubuntu) or `brew install mosquitto`; without it that baseline is skipped and the run says so. Node raises its own soft open-file limit to the hard limit when it starts, and workerd, Mosquitto and the client processes inherit it; the run prints both limits, and the hard one (`ulimit -Hn`) is the ceiling.",
	);
	lines.push("");
	lines.push("## Machine");
	lines.push("");
	lines.push(`- CPU: ${m.cpu}; memory ${m.memoryGiB} GiB; ${m.os}; loopback networking only.`);
	lines.push(
		`- Node ${m.node}; miniflare ${m.miniflare}; wrangler ${m.wrangler}; ws ${m.ws}; mqtt ${m.mqtt}; ${m.mosquitto ?? "Mosquitto not installed"}.`,
	);
	lines.push(`- Open files: soft ${m.openFiles.soft}, hard ${m.openFiles.hard} (per process).`);
	lines.push(
		`- Load average at start ${m.loadAvgAtStart.join(" / ")}, at end ${m.loadAvgAtEnd.join(" / ")}: the machine is shared, other test runs may overlap.`,
	);
	lines.push("");
	lines.push("## Method");
	lines.push("");
	lines.push(
		`One run measures three systems one after the other with the same load generator, the same N and the same target sequence (seeded): **Warbler** (the stack \`npm start\` brings up, scripts/stack.mjs: the Worker bundled by \`wrangler deploy --dry-run\` and run by Miniflare ${m.miniflare} in its own process, one workerd, with every binding of wrangler.toml, its entry wrapped by bench/instrument.mjs for the counters: D1 with the migrations applied, SQLite-backed Durable Objects persisted to disk, Queues configured as wrangler.toml says: ${queueText(r)}), **raw ws** (bench/lib/ws-baseline-server.mjs: an in-memory \`ws\` server speaking the same client protocol, with the same per-user seq/resume/ack semantics but no auth, storage or accounting) and **Mosquitto QoS 1** (a private broker, in memory; subscribers QoS 1 with \`clean: false\` so a reconnect resumes its session; the publisher publishes QoS 1 and waits for PUBACK).`,
	);
	lines.push("");
	lines.push(
		`Clients are ${cfg.clientProcs === 1 ? "one child process" : `${cfg.clientProcs} child processes`} of \`ws\` / \`mqtt\` clients (bench/lib/clients.mjs); the publisher (HTTP or MQTT) runs in the parent; each server is its own process. Warbler clients send \`hello{last_seq}\` and ack every message; receipt time minus the publisher's clock just before the API call (\`performance.timeOrigin + now()\`, shared by processes on one machine) is the latency. Every client records every message id: **lost** = sent to it (202 / PUBACK) and never seen, **duplicates** = the same id seen twice on one device.`,
	);
	lines.push("");
	lines.push(
		`- (a) ${cfg.rate} direct pushes/s for ${cfg.seconds} s to users drawn at random from ${cfg.online} online, open loop (each call is due at its slot whatever earlier calls do). Warbler: \`POST /v1/messages {audience:{users:[id]}}\`; raw ws: \`POST /publish\`; Mosquitto: publish to \`u/<id>\`.`,
	);
	lines.push(
		`- (b) one message to a tag of ${cfg.broadcast.map((n) => n.toLocaleString("en-US")).join(" and of ")} online users (or as many as the project can hold here, see Capacity; the baselines then run at that same N and at the full size too), ${cfg.reps} times each; time to first and last delivery from the API call; deliveries/s = recipients ÷ time to last delivery. Warbler: \`audience:{tags:{any:[tag]}}\` (fanned out in the API call's invocation after the 202, no queue hop); raw ws: \`POST /broadcast\`; Mosquitto: one publish to \`t/<tag>\`.`,
	);
	lines.push(
		`- (d) ${cfg.burst ?? 20} broadcasts in a row to the ${cfg.online} online users, ${cfg.burstInFlight ?? 4} API calls in flight at once: deliveries/s from the first call to the last delivery, and each delivery's latency from its own broadcast's call.`,
		`- (c) reconnect storm: direct pushes keep flowing at ${cfg.stormRate}/s, every client drops its connection at once (no close handshake), one broadcast to all of them goes out while they are away, and all reconnect (${cfg.stormConcurrency} connects in flight) and resume; the clock stops when every client is back, and when every message of the storm has arrived.`,
	);
	lines.push("");
	lines.push("## Results");
	lines.push("");
	lines.push("Ratios are Warbler ÷ baseline: above 1× is slower for times, below 1× is slower for rates.");
	lines.push("");
	lines.push(table(r, true));
	lines.push("");
	for (const [n, why] of Object.entries(r.skipped ?? {})) lines.push(`- ${n} skipped: ${why}`);
	for (const [n, s] of Object.entries(r.systems)) for (const note of s.notes ?? []) lines.push(`- ${n}: ${note}`);
	lines.push("");
	lines.push("## Targets (issue 9: delivery core v2)");
	lines.push("");
	lines.push("| target | measured | result |");
	lines.push("| --- | --- | --- |");
	for (const t of targets(r)) lines.push(`| ${t.target} | ${t.measured} | **${mark(t.pass)}** |`);
	lines.push("");
	if (r.costs?.direct) {
		const c = r.costs;
		lines.push("## Operations and cost per delivered message (Warbler)");
		lines.push("");
		lines.push(
			`Prices: Workers $${c.prices.workerRequests}/M requests, Durable Objects $${c.prices.doRequests}/M requests (incoming WebSocket messages at 20:1), Queues $${c.prices.queueOps}/M operations, D1 $${c.prices.d1RowsWritten.toFixed(2)}/M rows written and $${c.prices.d1RowsRead}/M rows read. A "push" is one message delivered to one device. Connection set-up is not in these figures (see the storm column and below).`,
		);
		lines.push("");
		lines.push(costTable(c, true));
		lines.push("");
		lines.push(rpcBreakdown(c));
		lines.push("");
		lines.push(
			`Design derivation for comparison: direct push = ${c.design.direct.doRequests} DO request (shard.deliver) plus incoming acks at 20:1; broadcast = ${c.design.broadcast.doRequests} per recipient (one shard.deliver per shard per job of up to 1,000, ledger calls per job and per broadcast), plus ${c.design.broadcast.queueOps} queue operations.`,
		);
		lines.push("");
		lines.push("### Measured versus derived");
		lines.push("");
		lines.push(
			"- **Measured** inside workerd by bench/instrument.mjs, which wraps the unmodified project at its boundaries (a generated entry re-exports the Worker and the Durable Object classes through it): Worker requests = every `fetch` the Worker served (API calls and WebSocket upgrades, not the bench's own `/__bench/*` reads) plus every queue consumer invocation (counted as a Worker request: conservative); DO requests = every RPC method call and `fetch()` on a DO stub (each is one billed request), every `alarm()` invocation and every incoming WebSocket message (billed 20:1); Queue operations = messages written by `send`/`sendBatch`, read by the consumer and acked, per 64 KB; D1 rows = the `meta.rows_read`/`rows_written` of every D1 response; DO SQLite rows = `rowsRead`/`rowsWritten` of every `ctx.storage.sql.exec` cursor.",
		);
		lines.push(
			"- **Derived**: prices (the list above); the 20:1 WebSocket ratio; that consumer invocations bill as Worker requests; that Miniflare's D1 and SQLite row counts equal production's. Not counted: Workers CPU time, DO duration (GB-s; hibernated sockets cost none), storage size, outgoing WebSocket messages (free).",
		);
		lines.push("");
	}
	if (P && r.costs?.direct) lines.push(...findings(r), "");
	lines.push("## Reading these numbers");
	lines.push("");
	lines.push(
		"- Miniflare runs the Worker, every Durable Object, D1 and the queues in one workerd process, mostly on one thread, on this 2-core machine. On Cloudflare the shards of a big app live on many machines, so the fan-out rates here measure the CPU each delivery costs, not the speed of a deployed fan-out; they do show how much work the design does per delivery compared with a broker.",
	);
	lines.push(
		"- Everything is on loopback: no TLS, no edge, no internet round trips. Durable Object and D1 storage are SQLite files on the local disk; the baselines keep everything in memory and have no auth, no accounting and no durability.",
	);
	lines.push(
		"- The open-loop direct-push run offers its rate whatever the system does; when a system cannot keep up, latency is mostly time spent waiting (in the publisher's 256-connection pool and in workerd), and the sustained rate is the number to read.",
	);
	lines.push(
		"- The machine is shared with other test runs; the load averages in the table show how busy it was. Repeat runs vary by tens of percent on the project's numbers; the orders of magnitude do not change.",
	);
	lines.push("");
	if (P) {
		lines.push("## Capacity");
		lines.push("");
		if (P.capacity?.reason) lines.push(`${P.capacity.reason}`, "");
		for (const s of Object.values(r.systems)) {
			const fd = s.resources?.serverFds;
			lines.push(
				`- ${s.label}: held ${f0(s.resources?.clientsHeld)} clients; server open files ${f0(fd?.total)} (sockets ${f0(fd?.sockets)}, SQLite files ${f0(fd?.sqliteFiles)}), RSS ${f0(s.resources?.serverRssMb)} MiB at the end of the run.`,
			);
		}
		lines.push("");
	}
	return `${lines.join("\n")}\n`;
}
