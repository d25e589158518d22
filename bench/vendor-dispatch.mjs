#!/usr/bin/env node
/**
 * The vendor dispatch benchmark (issue 13): pushes/s through Warbler's vendor queue against each
 * Chinese vendor's simulator, against a plain `fetch` loop sending the same pushes in the same
 * batch size to the same simulator in the same run; token mints per 10,000 pushes; requests per push.
 *
 *   npm run bench:vendors -- [--isolated] [--users 1000] [--rounds 30] [--repeat 3] [--hold-ms 4000]
 *                            [--concurrency 1] [--timeline] [--profile F]
 *
 * One local stack (scripts/stack.mjs, as `npm start` runs it, on its own port and state directory),
 * one app with OPPO, vivo, Honor and Meizu credentials pointing at the stack's simulator.
 * - Mixed (default): `users` users with one device per vendor; every broadcast (`audience: {all:
 *   true}`, `channels: "vendor"`) reaches all four vendors, and the fetch loop sends to all four side
 *   by side. `--isolated`: `users` users per vendor, tagged with its name, one vendor at a time on
 *   both sides (`audience: {tags: {any: [vendor]}}`), nothing else running meanwhile.
 * - Three measures, each `--repeat` times (tables: medians; JSON: every sample):
 *   - end to end: `rounds` broadcasts, `concurrency` API calls in flight, from the first API call to
 *     the simulator's own stamp of its last accepted push. Includes each broadcast's acceptance and
 *     its fan-out into `users` inboxes, which the fetch loop does not do;
 *   - queue drain: the same broadcasts with the simulator paused (`POST /__sim/pause`) for `hold-ms`
 *     after the last API call, so every vendor job of the run waits in the vendor queue; then resumed,
 *     and timed from the resume to the last accepted push: the vendor stage alone (queue consumer,
 *     message and credentials reads, tokens, payloads, the vendor requests, outcomes in the ledger);
 *   - fetch loop: the same number of pushes in batches of the size Warbler's jobs had, minted and
 *     signed exactly as each vendor documents, one request after another per vendor.
 * Results go to bench/results/vendor-dispatch-<time>.json.
 *
 * --timeline prints the API calls and the simulator's counts every 50 ms, and each process's CPU
 * seconds over each Warbler run (Linux /proc); --profile writes a V8 CPU profile of workerd's
 * isolate over each run to F.<vendor or all>[.drain] (open them in Chrome DevTools).
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, startStack } from "../scripts/stack.mjs";
import { cpuSecondsOf } from "./lib/pool.mjs";

const { values } = parseArgs({
	options: {
		users: { type: "string", default: "1000" },
		rounds: { type: "string", default: "30" },
		port: { type: "string", default: "0" },
		timeline: { type: "boolean", default: false },
		concurrency: { type: "string", default: "1" },
		profile: { type: "string" },
		isolated: { type: "boolean", default: false },
		"hold-ms": { type: "string", default: "4000" },
		repeat: { type: "string", default: "3" },
	},
});
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);
const VENDORS = ["oppo", "vivo", "honor", "meizu"];
const HOLD_MS = Number(values["hold-ms"]);
const REPEAT = Number(values.repeat);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (values.profile) process.env.WARBLER_INSPECTOR_PORT = String(await freePort());
const persistTo = mkdtempSync(join(tmpdir(), "warbler-vendor-bench-"));
const stack = await startStack({ port: Number(values.port) || (await freePort()), persistTo, quiet: true, demo: false });
const sim = stack.simulatorUrl;
const stop = async () => {
	await stack.stop();
	rmSync(persistTo, { recursive: true, force: true });
};

async function api(method, path, key, body) {
	for (;;) {
		const res = await fetch(`${stack.baseUrl}${path}`, {
			method,
			headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
			body: body ? JSON.stringify(body) : undefined,
		});
		if (res.status === 429) {
			await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get("retry-after") ?? 1)));
			continue;
		}
		const text = await res.text();
		if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
		return text ? JSON.parse(text) : undefined;
	}
}
const simJson = async (path, init) => (await fetch(`${sim}${path}`, init)).json();
const stats = () => simJson("/__sim/stats");

async function pool(items, n, fn) {
	let i = 0;
	await Promise.all(
		Array.from({ length: n }, async () => {
			while (i < items.length) await fn(items[i++]);
		}),
	);
}

try {
	const app = await api("POST", "/v1/apps", stack.adminToken, { name: "vendor-bench" });
	const key = app.key.secret;
	const creds = await simJson("/__sim/credentials");
	for (const v of VENDORS) await api("PUT", `/v1/credentials/${v}`, key, creds[v]);
	const t0 = performance.now();
	if (values.isolated) {
		// One group of users per vendor, each with that vendor's device only, tagged with the vendor's name.
		for (const v of VENDORS) {
			const users = Array.from({ length: USERS }, (_, i) => `bench-${v}-${i}`);
			await pool(users, 16, (u) =>
				api("POST", `/v1/users/${u}/devices`, key, { id: `${v}-phone`, platform: "android", channel: v, token: `${v}-${u}` }),
			);
			for (let i = 0; i < users.length; i += 1000)
				await api("POST", `/v1/tags/${v}/users`, key, { add: users.slice(i, i + 1000) });
		}
	} else {
		const users = Array.from({ length: USERS }, (_, i) => `bench-${i}`);
		await pool(users, 16, async (u) => {
			for (const v of VENDORS) {
				await api("POST", `/v1/users/${u}/devices`, key, {
					id: `${v}-phone`,
					platform: "android",
					channel: v,
					token: `${v}-${u}`,
				});
			}
		});
	}
	console.error(`registered ${USERS * VENDORS.length} devices in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

	const warbler = {};
	const baseline = {};
	const all = {};
	// Mixed (default): every broadcast reaches all four vendors, and the fetch loop sends to all four
	// side by side. Isolated: one vendor at a time on both sides, nothing else running meanwhile.
	const phases = values.isolated
		? VENDORS.map((v) => ({ vendors: [v], audience: { tags: { any: [v] } } }))
		: [{ vendors: VENDORS, audience: { all: true } }];
	for (const phase of phases) {
		// Each measure `--repeat` times, interleaved (Warbler, drain, fetch loop, Warbler, …); the
		// tables show medians, the JSON every sample.
		const samples = [];
		for (let i = 0; i < REPEAT; i++) {
			const w = await warblerPhase(key, phase.vendors, phase.audience);
			const d = await warblerPhase(key, phase.vendors, phase.audience, { drain: true });
			const b = await fetchLoop(creds, phase.vendors, w.runs);
			samples.push({ w, d, b });
		}
		for (const v of phase.vendors) {
			warbler[v] = {
				...samples[0].w.runs[v],
				pushes_per_s: median(samples.map((x) => x.w.runs[v].pushes_per_s)),
				drain_pushes_per_s: median(samples.map((x) => x.d.runs[v].pushes_per_s)),
				samples: samples.map((x) => ({ end_to_end: x.w.runs[v].pushes_per_s, drain: x.d.runs[v].pushes_per_s })),
			};
			// Mints over every Warbler run of the phase: the token object keeps one token across them all.
			const runs = samples.flatMap((x) => [x.w.runs[v], x.d.runs[v]]);
			warbler[v].token_mints = runs.reduce((n, r) => n + r.token_mints, 0);
			warbler[v].pushes_all_runs = runs.reduce((n, r) => n + r.pushes, 0);
			warbler[v].mints_per_10k = (warbler[v].token_mints * 10_000) / warbler[v].pushes_all_runs;
			baseline[v] = {
				...samples[0].b.runs[v],
				pushes_per_s: median(samples.map((x) => x.b.runs[v].pushes_per_s)),
				samples: samples.map((x) => x.b.runs[v].pushes_per_s),
			};
		}
		if (!values.isolated)
			Object.assign(all, {
				warbler_pushes_per_s: median(samples.map((x) => x.w.pushesPerSecond)),
				drain_pushes_per_s: median(samples.map((x) => x.d.pushesPerSecond)),
				fetch_loop_pushes_per_s: median(samples.map((x) => x.b.pushesPerSecond)),
			});
	}

	const result = {
		at: new Date().toISOString(),
		mode: values.isolated ? "isolated" : "mixed",
		users: USERS,
		rounds: ROUNDS,
		repeat: REPEAT,
		concurrency: Number(values.concurrency),
		load_average: loadavg(),
		warbler,
		baseline,
		...(values.isolated ? {} : { all_vendors: all }),
	};
	const file = new URL(`./results/vendor-dispatch-${result.at.replace(/[:.]/g, "-")}.json`, import.meta.url);
	writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
	console.log(JSON.stringify(result, null, 2));
	console.error(`wrote ${file.pathname}`);
	console.log(
		`\n${result.mode}: | vendor | Warbler pushes/s (API call → last push) | queue drain pushes/s | fetch loop pushes/s | ratio (end to end) | ratio (queue drain) | requests/push | batch | token mints / 10k pushes |`,
	);
	console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
	for (const v of VENDORS) {
		const w = warbler[v];
		const b = baseline[v];
		console.log(
			`| ${v} | ${w.pushes_per_s.toFixed(0)} | ${w.drain_pushes_per_s.toFixed(0)} | ${b.pushes_per_s.toFixed(0)} | ${(w.pushes_per_s / b.pushes_per_s).toFixed(2)}× | ${(w.drain_pushes_per_s / b.pushes_per_s).toFixed(2)}× | ${w.requests_per_push.toFixed(4)} | ${w.batch} | ${w.mints_per_10k.toFixed(2)} |`,
		);
	}
	if (!values.isolated) {
		console.log(
			`| all four | ${all.warbler_pushes_per_s.toFixed(0)} | ${all.drain_pushes_per_s.toFixed(0)} | ${all.fetch_loop_pushes_per_s.toFixed(0)} | ${(all.warbler_pushes_per_s / all.fetch_loop_pushes_per_s).toFixed(2)}× | ${(all.drain_pushes_per_s / all.fetch_loop_pushes_per_s).toFixed(2)}× | | | |`,
		);
	}
} finally {
	await stop();
}

/**
 * `ROUNDS` broadcasts to `audience`, `--concurrency` API calls in flight, until the simulator has
 * accepted every push of `vendors`. Per vendor: the clock ends at the simulator's own stamp of its
 * last accepted push. All vendors: their pushes over the time to the last push of any of them.
 */
async function warblerPhase(key, vendors, audience, { drain = false } = {}) {
	await fetch(`${sim}/__sim/reset`, { method: "POST" });
	if (drain) await fetch(`${sim}/__sim/pause`, { method: "POST" });
	const total = USERS * ROUNDS;
	const cpuBefore = values.timeline ? processCpu() : undefined;
	const profiler = values.profile ? await startProfiler(Number(process.env.WARBLER_INSPECTOR_PORT)) : undefined;
	const start = performance.now();
	const startedAt = Date.now();
	const timeline = [];
	await pool(
		Array.from({ length: ROUNDS }, (_, r) => r),
		Number(values.concurrency),
		async (r) => {
			if (values.timeline) timeline.push(`${(performance.now() - start).toFixed(0)} ms: POST round ${r}`);
			await api("POST", "/v1/messages", key, {
				audience,
				content: { type: "text", title: "Bench", body: `round ${r}` },
				options: { channels: "vendor", category: "transactional", ttl_seconds: 3600 },
			});
		},
	);
	let resumedAt;
	if (drain) {
		// Every job of the run waits in the vendor queue (the simulator holds the first ones): from here
		// on only the vendor stage runs, so the clock times the backlog draining.
		await new Promise((r) => setTimeout(r, HOLD_MS));
		const before = await stats();
		if (vendors.some((v) => before[v].sends > 0)) throw new Error("the simulator accepted pushes while paused");
		resumedAt = Date.now();
		await fetch(`${sim}/__sim/resume`, { method: "POST" });
		// Warbler gives a vendor request 15 s (VENDOR_TIMEOUT_MS): one held longer would be retried.
		if (resumedAt - startedAt > 12_000)
			throw new Error(
				`held ${resumedAt - startedAt} ms: the first vendor requests may have timed out; use fewer --rounds or a shorter --hold-ms`,
			);
	}
	// The simulator stamps its latest accepted push per vendor (same process, same clock).
	let s = await stats();
	while (vendors.some((v) => s[v].sends < total)) {
		if (Date.now() - startedAt > 600_000) throw new Error(`timed out: ${JSON.stringify(s)}`);
		await new Promise((r) => setTimeout(r, 50));
		s = await stats();
		if (values.timeline)
			timeline.push(`${(performance.now() - start).toFixed(0)} ms: ${vendors.map((v) => `${v} ${s[v].sends}`).join(" ")}`);
	}
	if (values.timeline) {
		console.error(timeline.join("\n"));
		const after = processCpu();
		for (const [name, ms] of Object.entries(after)) {
			const used = ms - (cpuBefore[name] ?? 0);
			if (used > 50) console.error(`cpu ${(used / 1000).toFixed(2)} s: ${name}`);
		}
	}
	if (profiler) await profiler.stop(`${values.profile}.${vendors.length === 1 ? vendors[0] : "all"}${drain ? ".drain" : ""}`);
	// The clock starts at the first API call, or at the resume for a drain.
	const from = drain ? resumedAt : startedAt;
	const runs = {};
	for (const v of vendors) {
		const st = s[v];
		const seconds = (st.last_send_at - from) / 1000;
		runs[v] = {
			pushes: st.sends,
			seconds,
			pushes_per_s: st.sends / seconds,
			requests: st.requests,
			requests_per_push: st.requests / st.sends,
			batch: Math.round(st.sends / Math.max(1, v === "vivo" ? st.requests / 2 : st.requests)),
			token_mints: st.token_refreshes,
		};
	}
	const lastMs = Math.max(...vendors.map((v) => runs[v].seconds * 1000));
	return { runs, pushesPerSecond: vendors.reduce((n, v) => n + runs[v].pushes, 0) / (lastMs / 1000) };
}

/**
 * The baseline: as many pushes per vendor as Warbler sent, in batches of the size its jobs had,
 * one request after another per vendor, `vendors` side by side.
 */
async function fetchLoop(creds, vendors, warblerRuns) {
	await fetch(`${sim}/__sim/reset`, { method: "POST" });
	const total = USERS * ROUNDS;
	const runs = {};
	const t0 = performance.now();
	await Promise.all(
		vendors.map(async (v) => {
			const batch = warblerRuns[v].batch;
			const send = await plainSender(v, creds[v]);
			const t = performance.now();
			for (let sent = 0; sent < total; sent += batch) {
				const ids = Array.from({ length: Math.min(batch, total - sent) }, (_, i) => `${v}-base-${sent + i}`);
				await send(ids);
			}
			runs[v] = { seconds: (performance.now() - t) / 1000 };
		}),
	);
	const seconds = (performance.now() - t0) / 1000;
	const sb = await stats();
	for (const v of vendors) {
		runs[v].pushes = sb[v].sends;
		runs[v].pushes_per_s = sb[v].sends / runs[v].seconds;
		runs[v].requests = sb[v].requests;
	}
	return { runs, pushesPerSecond: vendors.reduce((n, v) => n + runs[v].pushes, 0) / seconds };
}

/** A minimal, correct client of each vendor's batch API: one token, then one request per batch. */
async function plainSender(v, c) {
	const form = (o) => new URLSearchParams(o).toString();
	const post = async (path, body, headers) => {
		const res = await fetch(`${sim}${path}`, { method: "POST", headers, body });
		const json = await res.json();
		if (!res.ok) throw new Error(`${v} ${res.status} ${JSON.stringify(json)}`);
		return json;
	};
	const formType = { "content-type": "application/x-www-form-urlencoded" };
	const jsonType = { "content-type": "application/json" };
	if (v === "oppo") {
		const ts = String(Date.now());
		const sign = createHash("sha256")
			.update(c.app_key + ts + c.master_secret)
			.digest("hex");
		const { data } = await post("/oppo/server/v1/auth", form({ app_key: c.app_key, sign, timestamp: ts }), formType);
		const notification = { title: "Bench", content: "round", click_action_type: 0 };
		return (ids) =>
			post(
				"/oppo/server/v1/message/notification/unicast_batch",
				form({
					auth_token: data.auth_token,
					messages: JSON.stringify(ids.map((id) => ({ target_type: 2, target_value: id, notification }))),
				}),
				formType,
			);
	}
	if (v === "vivo") {
		const ts = Date.now();
		const sign = createHash("md5").update(`${c.app_id}${c.app_key}${ts}${c.app_secret}`).digest("hex");
		const { authToken } = await post(
			"/vivo/message/auth",
			JSON.stringify({ appId: c.app_id, appKey: c.app_key, timestamp: ts, sign }),
			jsonType,
		);
		const h = { ...jsonType, authToken };
		const msg = {
			appId: c.app_id,
			notifyType: 4,
			title: "Bench",
			content: "round",
			skipType: 1,
			timeToLive: 3600,
			classification: 1,
		};
		return async (ids) => {
			const { taskId } = await post("/vivo/message/saveListPayload", JSON.stringify({ ...msg, requestId: randomUUID() }), h);
			await post(
				"/vivo/message/pushToList",
				JSON.stringify({ appId: c.app_id, regIds: ids, taskId, requestId: randomUUID() }),
				h,
			);
		};
	}
	if (v === "honor") {
		const tok = await post(
			"/honor/auth/realms/developer/protocol/openid-connect/token",
			form({ grant_type: "client_credentials", client_id: c.client_id, client_secret: c.client_secret }),
			formType,
		);
		const h = { ...jsonType, authorization: `Bearer ${tok.access_token}` };
		const body = { android: { notification: { title: "Bench", body: "round", clickAction: { type: 3 } } } };
		return (ids) =>
			post(`/honor/api/v1/${c.app_id}/sendMessage`, JSON.stringify({ ...body, token: ids }), {
				...h,
				timestamp: String(Date.now()),
			});
	}
	// meizu
	const messageJson = JSON.stringify({ noticeBarInfo: { title: "Bench", content: "round" } });
	return (ids) => {
		const params = { appId: c.app_id, pushIds: ids.join(","), messageJson };
		const keys = Object.keys(params).sort();
		const sign = createHash("md5")
			.update(keys.map((k) => `${k}=${params[k]}`).join("") + c.app_secret)
			.digest("hex");
		return post("/meizu/garcia/api/server/push/varnished/pushByPushId", form({ ...params, sign }), formType);
	};
}

/** V8's CPU profiler on workerd through its inspector (Chrome DevTools protocol), for --profile. */
async function startProfiler(port) {
	const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
	const target = targets.find((t) => /warbler/.test(t.title ?? t.url ?? "")) ?? targets[0];
	const ws = new WebSocket(target.webSocketDebuggerUrl);
	await new Promise((r, j) => {
		ws.onopen = r;
		ws.onerror = j;
	});
	let id = 0;
	const pending = new Map();
	ws.onmessage = (e) => {
		const m = JSON.parse(e.data);
		if (m.id && pending.has(m.id)) pending.get(m.id)(m.result);
	};
	const call = (method, params = {}) =>
		new Promise((r) => {
			pending.set(++id, r);
			ws.send(JSON.stringify({ id, method, params }));
		});
	await call("Profiler.enable");
	await call("Profiler.setSamplingInterval", { interval: 200 });
	await call("Profiler.start");
	return {
		async stop(file) {
			const { profile } = await call("Profiler.stop");
			writeFileSync(file, JSON.stringify(profile));
			ws.close();
			console.error(`profile of ${targets.length} target(s) [${target.title}] written to ${file}`);
		},
	};
}

/** CPU seconds used so far by each process name (Linux /proc), to see where a run's time went. */
function processCpu() {
	const out = {};
	for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
		const seconds = cpuSecondsOf(pid);
		if (seconds === undefined) continue;
		try {
			const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 2).join(" ").slice(-60);
			out[`${pid} ${cmd}`] = seconds * 1000;
		} catch {}
	}
	return out;
}
