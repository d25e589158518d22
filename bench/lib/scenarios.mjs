/** The scenarios, identical for every system: only `sys` (systems.mjs) differs. */
import { cpuSecondsOf } from "./pool.mjs";
import { now } from "./systems.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Deterministic targets, so every system gets the same sequence of users. */
export function prng(seed) {
	let s = seed >>> 0;
	return () => {
		s = (s + 0x6d2b79f5) >>> 0;
		let t = s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export function percentile(sorted, p) {
	if (!sorted.length) return null;
	const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[k];
}

function summarize(latencies) {
	const s = Float64Array.from(latencies).sort();
	return {
		n: s.length,
		p50: percentile(s, 50),
		p90: percentile(s, 90),
		p99: percentile(s, 99),
		max: s.length ? s[s.length - 1] : null,
	};
}

/** Server and client CPU seconds around a scenario. */
function cpuMeter(sys, pool) {
	const s0 = cpuSecondsOf(sys.pid);
	const c0 = pool.cpuSeconds();
	const t0 = now();
	return () => {
		const s1 = cpuSecondsOf(sys.pid);
		return {
			wallS: (now() - t0) / 1000,
			serverCpuS: s0 === undefined || s1 === undefined ? null : s1 - s0,
			clientCpuS: pool.cpuSeconds() - c0,
		};
	};
}

/**
 * Open-loop publisher: call k is due at start + k/rate whatever earlier calls are doing (no
 * coordinated omission); returns every result and how far behind schedule the generator fell.
 */
async function fixedRate(rate, total, fn, shouldStop = () => false) {
	const start = now() + 20;
	const calls = [];
	let maxLag = 0;
	for (let k = 0; k < total && !shouldStop(); k++) {
		const due = start + (k * 1000) / rate;
		const wait = due - now();
		if (wait > 1) await sleep(wait);
		maxLag = Math.max(maxLag, now() - due);
		calls.push(fn(k));
	}
	return { results: await Promise.all(calls), maxLagMs: maxLag };
}

/**
 * Waits until the project's counters stop moving: acks reach the ledgers from inbox alarms (flush
 * after 0.5 s) and an unacked-delivery check runs about 3 s after a delivery, so the wait starts at
 * 4.5 s and then needs one quiet second.
 */
export async function settledCounters(sys, maxMs = 20_000) {
	if (!sys.counters) return undefined;
	const key = (c) => JSON.stringify([c.worker, c.doRequests, c.queues, c.d1, c.doSql]);
	const deadline = now() + maxMs;
	await sleep(4500);
	let prev = await sys.counters();
	for (;;) {
		await sleep(1000);
		const cur = await sys.counters();
		if (key(cur) === key(prev) || now() > deadline) return cur;
		prev = cur;
	}
}

// ---- (a) direct pushes at a fixed rate ------------------------------------------------------------

export async function directPushes(sys, pool, { online, rate, seconds, seed = 42, s = "a" }) {
	const rnd = prng(seed);
	const targets = Array.from({ length: rate * seconds }, () => Math.floor(rnd() * online));
	await sys.resetCounters?.();
	const cpu = cpuMeter(sys, pool);
	const { results, maxLagMs } = await fixedRate(rate, targets.length, (k) => sys.publishDirect(targets[k], { s }));
	const accepted = results.filter((r) => r.ok);
	const wait = await pool.waitFor(s, accepted.length, 30_000);
	const usage = cpu();
	const st = await pool.stats(s);
	const byClient = {};
	results.forEach((r, k) => {
		if (!r.ok) return;
		const list = byClient[targets[k]] ?? [];
		list.push(r.id);
		byClient[targets[k]] = list;
	});
	const v = await pool.verify({ byClient });
	const counters = await settledCounters(sys);
	const apiMs = summarize(results.map((r) => r.apiMs));
	const firstCall = Math.min(...results.map((r) => r.t0));
	const lastAnswer = Math.max(...results.map((r) => r.t0 + r.apiMs));
	return {
		scenario: "direct",
		online,
		rate,
		seconds,
		sent: results.length,
		accepted: accepted.length,
		rejected: results.length - accepted.length,
		rejectSamples: results
			.filter((r) => !r.ok)
			.slice(0, 3)
			.map((r) => r.error ?? r.status),
		delivered: st.count,
		complete: wait.reached,
		latencyMs: summarize(st.latencies),
		apiMs,
		generatorMaxLagMs: maxLagMs,
		// Accepted calls ÷ time from the first call to the last answer: the offered rate when the
		// system keeps up, its capacity when it does not.
		sustainedPerSec: (accepted.length / (lastAnswer - firstCall)) * 1000,
		lastDeliveryAfterStartS: st.lastAt === null ? null : (st.lastAt - firstCall) / 1000,
		lost: v.lost,
		duplicates: v.duplicates,
		outOfOrder: st.outOfOrder,
		lostSamples: v.lostSamples,
		usage,
		counters,
	};
}

// ---- (a') direct pushes to `users` lists of 100 (project only: what a batch costs) -----------------

export async function usersBatches(sys, pool, { online, batches, size = 100, rate = 5, seed = 99, s = "batch" }) {
	const rnd = prng(seed);
	const lists = Array.from({ length: batches }, () => {
		const picked = new Set();
		while (picked.size < Math.min(size, online)) picked.add(Math.floor(rnd() * online));
		return [...picked];
	});
	await sys.resetCounters?.();
	const cpu = cpuMeter(sys, pool);
	const { results } = await fixedRate(rate, lists.length, (k) => sys.publishUsers(lists[k], { s }));
	const byClient = {};
	let expected = 0;
	results.forEach((r, k) => {
		if (!r.ok) return;
		for (const i of lists[k]) {
			byClient[i] ??= [];
			byClient[i].push(r.id);
		}
		expected += lists[k].length;
	});
	const wait = await pool.waitFor(s, expected, 30_000);
	const usage = cpu();
	const st = await pool.stats(s);
	const v = await pool.verify({ byClient });
	const counters = await settledCounters(sys);
	return {
		scenario: "usersBatches",
		batches,
		size,
		accepted: results.filter((r) => r.ok).length,
		expectedDeliveries: expected,
		delivered: st.count,
		complete: wait.reached,
		latencyMs: summarize(st.latencies),
		apiMs: summarize(results.map((r) => r.apiMs)),
		lost: v.lost,
		duplicates: v.duplicates,
		usage,
		counters,
	};
}

// ---- (b) one broadcast to a tag --------------------------------------------------------------------

export async function broadcast(sys, pool, { tag, members, reps, s }) {
	const runs = [];
	await sys.resetCounters?.();
	const cpu = cpuMeter(sys, pool);
	for (let r = 0; r < reps; r++) {
		const sr = `${s}-r${r + 1}`;
		const res = await sys.broadcast(tag, { s: sr });
		if (!res.ok) {
			runs.push({ rep: r + 1, ok: false, error: res.error ?? res.status });
			continue;
		}
		const wait = await pool.waitFor(sr, members.length, 120_000);
		const st = await pool.stats(sr);
		const v = await pool.verify({ shared: [res.id], sharedIndices: members });
		const lastMs = st.lastAt === null ? null : st.lastAt - res.t0;
		runs.push({
			rep: r + 1,
			ok: true,
			id: res.id,
			apiMs: res.apiMs,
			delivered: st.count,
			complete: wait.reached,
			firstDeliveryMs: st.firstAt === null ? null : st.firstAt - res.t0,
			lastDeliveryMs: lastMs,
			deliveriesPerSec: lastMs ? (st.count / lastMs) * 1000 : null,
			latencyMs: summarize(st.latencies),
			lost: v.lost,
			duplicates: v.duplicates,
			lostSamples: v.lostSamples,
		});
		// Let the previous broadcast's aftermath (acks, inbox alarms, ledger tallies) finish first, so
		// every repetition starts from a quiet system.
		if (r < reps - 1) {
			if (sys.counters) await settledCounters(sys);
			else await sleep(1000);
		}
	}
	const usage = cpu();
	const counters = await settledCounters(sys);
	const ok = runs.filter((x) => x.ok && x.lastDeliveryMs !== null);
	const med = (xs) => {
		const s2 = [...xs].sort((a, b) => a - b);
		return s2.length ? s2[Math.floor((s2.length - 1) / 2)] : null;
	};
	return {
		scenario: "broadcast",
		tag,
		recipients: members.length,
		reps,
		runs,
		medianLastDeliveryMs: med(ok.map((x) => x.lastDeliveryMs)),
		medianDeliveriesPerSec: med(ok.map((x) => x.deliveriesPerSec)),
		delivered: runs.reduce((a, x) => a + (x.delivered ?? 0), 0),
		lost: runs.reduce((a, x) => a + (x.lost ?? 0), 0) + members.length * runs.filter((x) => !x.ok).length,
		duplicates: runs.reduce((a, x) => a + (x.duplicates ?? 0), 0),
		usage,
		counters,
	};
}

// ---- (d) broadcasts in a row, several in flight ----------------------------------------------------

/**
 * `count` broadcasts to the same tag, `inFlight` API calls at a time (each next one starts when one
 * answers): deliveries/s over all of them (from the first call to the last delivery) and the latency
 * of each delivery from its own broadcast's call.
 */
export async function broadcastBurst(sys, pool, { tag, members, count, inFlight, s = "d" }) {
	await sys.resetCounters?.();
	const cpu = cpuMeter(sys, pool);
	const ids = [];
	const failed = [];
	let next = 0;
	const firstCall = now();
	const worker = async () => {
		while (next < count) {
			next++;
			const res = await sys.broadcast(tag, { s });
			if (res.ok) ids.push(res.id);
			else failed.push(res.error ?? res.status);
		}
	};
	await Promise.all(Array.from({ length: inFlight }, worker));
	const expected = ids.length * members.length;
	const wait = await pool.waitFor(s, expected, 300_000);
	const st = await pool.stats(s);
	const usage = cpu();
	const v = await pool.verify({ shared: ids, sharedIndices: members });
	const counters = await settledCounters(sys);
	const spanMs = st.lastAt === null ? null : st.lastAt - firstCall;
	return {
		scenario: "broadcast_burst",
		tag,
		recipients: members.length,
		count,
		inFlight,
		accepted: ids.length,
		failedCalls: failed.length,
		failureSamples: failed.slice(0, 3),
		expectedDeliveries: expected,
		delivered: st.count,
		complete: wait.reached,
		spanMs,
		deliveriesPerSec: spanMs ? (st.count / spanMs) * 1000 : null,
		latencyMs: summarize(st.latencies),
		lost: v.lost + (count - ids.length) * members.length,
		duplicates: v.duplicates,
		usage,
		counters,
	};
}

// ---- (c) reconnect storm ---------------------------------------------------------------------------

/**
 * All clients drop at once; one broadcast to all of them goes out while they are away and direct
 * pushes keep flowing at `rate` until everyone is back; every client resumes (hello last_seq /
 * persistent MQTT session). Reports the time from the drop until all are reconnected, and until every
 * message of the storm has arrived, with loss and duplicates over all of them.
 */
export async function reconnectStorm(sys, pool, { indices, tag, rate, concurrency, seed = 7, s = "c" }) {
	const rnd = prng(seed);
	await sys.resetCounters?.();
	const cpu = cpuMeter(sys, pool);
	let stop = false;
	const directs = [];
	const publisher = fixedRate(
		rate,
		1e9,
		async () => {
			const target = indices[Math.floor(rnd() * indices.length)];
			const r = await sys.publishDirect(target, { s });
			directs.push({ target, r });
			return r;
		},
		() => stop,
	);
	await sleep(1000);
	const dropAt = await pool.drop(indices);
	const b = await sys.broadcast(tag, { s });
	const rec = await pool.reconnect(indices, concurrency);
	stop = true;
	const { maxLagMs } = await publisher;
	const reconnectedMs = rec.doneAt - dropAt;
	const okDirects = directs.filter((d) => d.r.ok);
	const expected = okDirects.length + (b.ok ? indices.length : 0);
	const wait = await pool.waitFor(s, expected, 120_000);
	const st = await pool.stats(s);
	const usage = cpu();
	const byClient = {};
	for (const d of okDirects) {
		const list = byClient[d.target] ?? [];
		list.push(d.r.id);
		byClient[d.target] = list;
	}
	const v = await pool.verify({ shared: b.ok ? [b.id] : [], sharedIndices: b.ok ? indices : [], byClient });
	const failedDirects = directs.filter((d) => !d.r.ok);
	const counters = await settledCounters(sys);
	const counts = await pool.counts();
	return {
		scenario: "reconnect_storm",
		clients: indices.length,
		reconnectConcurrency: concurrency,
		directRate: rate,
		directsSent: directs.length,
		directsAccepted: okDirects.length,
		broadcastAccepted: b.ok,
		expectedDeliveries: expected,
		delivered: st.count,
		// Delivered although the API call did not come back 202 (e.g. it timed out at the client):
		// not a loss and not a duplicate, but a caller would not know the message went out.
		deliveredWithoutAccept: st.count - (expected - v.lost),
		directsFailedAtClient: failedDirects.length,
		directFailureSamples: failedDirects.slice(0, 3).map((d) => d.r.error ?? d.r.status),
		complete: wait.reached,
		reconnected: rec.connected,
		reconnectFailed: rec.failed,
		reconnectErrors: rec.errors,
		allReconnectedMs: reconnectedMs,
		caughtUpMs: st.lastAt === null ? null : st.lastAt - dropAt,
		latencyMs: summarize(st.latencies),
		generatorMaxLagMs: maxLagMs,
		lost: v.lost,
		duplicates: v.duplicates,
		outOfOrder: st.outOfOrder,
		lostSamples: v.lostSamples,
		clientState: counts,
		usage,
		counters,
	};
}
