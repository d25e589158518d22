#!/usr/bin/env node
/**
 * The vendor dispatch benchmark (issue 13): pushes/s through Warbler's vendor queue against each
 * Chinese vendor's simulator, against a plain `fetch` loop sending the same pushes in the same
 * batch size to the same simulator in the same run; token mints per 10,000 pushes; requests per push.
 *
 *   npm run bench:vendors -- [--users 1000] [--rounds 30] [--concurrency 1] [--timeline] [--profile F]
 *
 * One local stack (scripts/stack.mjs, as `npm start` runs it, on its own port and state directory),
 * one app with OPPO, vivo, Honor and Meizu credentials pointing at the stack's simulator, `users`
 * users with one device per vendor. Warbler: `rounds` broadcasts (`audience: {all: true}`,
 * `channels: "vendor"`), `concurrency` API calls in flight (1: back to back). Two clocks per vendor,
 * both ending at the simulator's own stamp of its last accepted push: "end to end" starts at the
 * first API call, "vendor stage" at the simulator's stamp of its first accepted push. Baseline: the
 * same number of pushes per vendor, in batches of the size Warbler's jobs had, minted and signed
 * exactly as each vendor documents, sent one request after another per vendor (vendors in
 * parallel, as Warbler's are). Results go to bench/results/vendor-dispatch-<time>.json.
 *
 * --timeline prints the API calls and the simulator's counts every 50 ms, and each process's CPU
 * seconds over the Warbler phase (Linux /proc); --profile writes a V8 CPU profile of workerd's
 * isolate over the same phase (open it in Chrome DevTools).
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
	},
});
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);
const VENDORS = ["oppo", "vivo", "honor", "meizu"];

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
	const users = Array.from({ length: USERS }, (_, i) => `bench-${i}`);
	await pool(users, 16, async (u) => {
		for (const v of VENDORS) {
			await api("POST", `/v1/users/${u}/devices`, key, { id: `${v}-phone`, platform: "android", channel: v, token: `${v}-${u}` });
		}
	});
	console.error(`registered ${USERS * VENDORS.length} devices in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

	// ─── Warbler ──────────────────────────────────────────────────────────────────────────────────
	await fetch(`${sim}/__sim/reset`, { method: "POST" });
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
				audience: { all: true },
				content: { type: "text", title: "Bench", body: `round ${r}` },
				options: { channels: "vendor", category: "transactional", ttl_seconds: 3600 },
			});
		},
	);
	// The simulator stamps its first and latest accepted push per vendor (same process, same clock).
	let s = await stats();
	while (VENDORS.some((v) => s[v].sends < total)) {
		if (Date.now() - startedAt > 600_000) throw new Error(`timed out: ${JSON.stringify(s)}`);
		await new Promise((r) => setTimeout(r, 50));
		s = await stats();
		if (values.timeline)
			timeline.push(`${(performance.now() - start).toFixed(0)} ms: ${VENDORS.map((v) => s[v].sends).join(" ")}`);
	}
	const done = Object.fromEntries(VENDORS.map((v) => [v, s[v].last_send_at - startedAt]));
	const first = Object.fromEntries(VENDORS.map((v) => [v, s[v].first_send_at - startedAt]));
	if (values.timeline) {
		console.error(timeline.join("\n"));
		const after = processCpu();
		for (const [name, ms] of Object.entries(after)) {
			const used = ms - (cpuBefore[name] ?? 0);
			if (used > 50) console.error(`cpu ${(used / 1000).toFixed(2)} s: ${name}`);
		}
	}
	if (profiler) await profiler.stop(values.profile);
	const warbler = {};
	for (const v of VENDORS) {
		const st = s[v];
		warbler[v] = {
			pushes: st.sends,
			seconds: done[v] / 1000,
			pushes_per_s: st.sends / (done[v] / 1000),
			// From the first push the vendor saw to the last: the vendor stage alone, without the API
			// calls and the in-app fan-out that come before it.
			first_push_s: first[v] / 1000,
			vendor_stage_pushes_per_s: st.sends / ((done[v] - first[v]) / 1000),
			requests: st.requests,
			requests_per_push: st.requests / st.sends,
			batch: Math.round(st.sends / Math.max(1, v === "vivo" ? st.requests / 2 : st.requests)),
			token_mints: st.token_refreshes,
			mints_per_10k: (st.token_refreshes * 10_000) / st.sends,
		};
	}

	// ─── Plain fetch loop ─────────────────────────────────────────────────────────────────────────
	await fetch(`${sim}/__sim/reset`, { method: "POST" });
	const baseline = {};
	await Promise.all(
		VENDORS.map(async (v) => {
			const batch = warbler[v].batch;
			const send = await plainSender(v, creds[v]);
			const t = performance.now();
			for (let sent = 0; sent < total; sent += batch) {
				const ids = Array.from({ length: Math.min(batch, total - sent) }, (_, i) => `${v}-base-${sent + i}`);
				await send(ids);
			}
			baseline[v] = { seconds: (performance.now() - t) / 1000 };
		}),
	);
	const sb = await stats();
	for (const v of VENDORS) {
		baseline[v].pushes = sb[v].sends;
		baseline[v].pushes_per_s = sb[v].sends / baseline[v].seconds;
		baseline[v].requests = sb[v].requests;
	}

	const result = {
		at: new Date().toISOString(),
		users: USERS,
		rounds: ROUNDS,
		concurrency: Number(values.concurrency),
		load_average: loadavg(),
		warbler,
		baseline,
	};
	const file = new URL(`./results/vendor-dispatch-${result.at.replace(/[:.]/g, "-")}.json`, import.meta.url);
	writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
	console.log(JSON.stringify(result, null, 2));
	console.error(`wrote ${file.pathname}`);
	console.log(
		"\n| vendor | Warbler pushes/s (API call → last push) | vendor stage pushes/s (first → last push) | fetch loop pushes/s | ratio (end to end) | ratio (vendor stage) | requests/push | batch | token mints / 10k pushes |",
	);
	console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
	for (const v of VENDORS) {
		const w = warbler[v];
		const b = baseline[v];
		console.log(
			`| ${v} | ${w.pushes_per_s.toFixed(0)} | ${w.vendor_stage_pushes_per_s.toFixed(0)} | ${b.pushes_per_s.toFixed(0)} | ${(w.pushes_per_s / b.pushes_per_s).toFixed(2)}× | ${(w.vendor_stage_pushes_per_s / b.pushes_per_s).toFixed(2)}× | ${w.requests_per_push.toFixed(4)} | ${w.batch} | ${w.mints_per_10k.toFixed(2)} |`,
		);
	}
} finally {
	await stop();
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
