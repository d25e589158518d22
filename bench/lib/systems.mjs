/**
 * The three systems under test, behind one interface the scenarios use:
 *   prepare(from, to, tags) → client specs for users [from, to) (tag membership, tokens, topics);
 *   publishDirect(i, meta) and broadcast(tag, meta) → {id, t0, ok, apiMs}; publishUsers(indices, meta)
 *   (project only: one message to a `users` list);
 *   counters()/resetCounters() (project only); pid (the server process); stop().
 * `tags` maps a tag name to the [first, last) user index range it holds.
 */
import { fork } from "node:child_process";
import { Agent, request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { startMosquitto } from "./mosquitto.mjs";
import { startProject } from "./project.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const now = () => performance.timeOrigin + performance.now();

export const userId = (i) => `u${String(i).padStart(5, "0")}`;

async function mapBounded(items, limit, fn) {
	const out = new Array(items.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) {
				const k = next++;
				out[k] = await fn(items[k], k);
			}
		}),
	);
	return out;
}

/**
 * The publisher's HTTP client: keep-alive, at most 256 connections per server; calls beyond that
 * wait in the client, and that wait counts in their latency (the clock starts before the call).
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** A JSON request; network errors and timeouts come back as status 0 instead of throwing. */
function httpJson(method, url, body, headers = {}, timeoutMs = 120_000, retry = true) {
	return new Promise((resolve) => {
		const data = body === undefined ? undefined : JSON.stringify(body);
		const req = request(
			url,
			{
				method,
				agent,
				headers: {
					...(data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {}),
					...headers,
				},
				timeout: timeoutMs,
			},
			(res) => {
				const parts = [];
				res.on("data", (c) => parts.push(c));
				res.on("end", () => {
					const text = Buffer.concat(parts).toString();
					let json;
					try {
						json = text ? JSON.parse(text) : undefined;
					} catch {
						json = { raw: text.slice(0, 200) };
					}
					resolve({ status: res.statusCode, body: json });
				});
				res.on("error", (err) => resolve({ status: 0, body: { error: String(err.code ?? err) } }));
			},
		);
		req.on("timeout", () => req.destroy(new Error("timeout")));
		req.on("error", (err) => {
			// A kept-alive socket the server had just closed: the request never reached it, so
			// sending it again on a fresh socket is safe (Node's documented pattern).
			if (req.reusedSocket && err.code === "ECONNRESET" && retry) {
				httpJson(method, url, body, headers, timeoutMs, false).then(resolve);
				return;
			}
			resolve({ status: 0, body: { error: String(err.code ?? err.message ?? err) } });
		});
		req.end(data);
	});
}

const postJson = (url, body, headers) => httpJson("POST", url, body, headers);

/** Tag → the user ids of [from, to) it holds. */
function membersIn(tags, from, to) {
	return Object.entries(tags)
		.map(([tag, [a, b]]) => ({ tag, lo: Math.max(a, from), hi: Math.min(b, to) }))
		.filter((x) => x.hi > x.lo)
		.map(({ tag, lo, hi }) => ({ tag, users: Array.from({ length: hi - lo }, (_, k) => userId(lo + k)) }));
}

function result(r, t0, ok) {
	return { id: r.body?.id, t0, ok, status: r.status, apiMs: now() - t0, error: ok ? undefined : r.body };
}

// ---- The project -----------------------------------------------------------------------------------

export async function startProjectSystem({ root, tmp, log }) {
	const t0 = now();
	const p = await startProject(root, tmp);
	log(
		`  the npm start stack (bundle on Miniflare) ready at ${p.baseUrl} in ${((now() - t0) / 1000).toFixed(2)} s (migrations: ${p.migrations.join(", ")})`,
	);
	const app = await postJson(`${p.baseUrl}/v1/apps`, { name: "bench" }, { authorization: `Bearer ${p.adminToken}` });
	if (app.status !== 201) throw new Error(`POST /v1/apps → ${app.status} ${JSON.stringify(app.body)}`);
	const auth = { authorization: `Bearer ${app.body.key.secret}` };
	const send = (audience, meta) => {
		const t = now();
		const body = JSON.stringify({ ...meta, t0: t });
		return postJson(`${p.baseUrl}/v1/messages`, { audience, content: { type: "text", body } }, auth).then((r) =>
			result(r, t, r.status === 202),
		);
	};
	return {
		name: "project",
		label: "Warbler (npm start stack)",
		kind: "warbler",
		clientUrl: p.baseUrl.replace(/^http/, "ws"),
		pid: await p.workerdPid(),
		queueConsumers: p.queueConsumers,
		async prepare(from, to, tags) {
			for (const { tag, users } of membersIn(tags, from, to)) {
				for (let k = 0; k < users.length; k += 1000) {
					const r = await postJson(`${p.baseUrl}/v1/tags/${tag}/users`, { add: users.slice(k, k + 1000) }, auth);
					if (r.status !== 200) throw new Error(`tag add → ${r.status} ${JSON.stringify(r.body)}`);
				}
			}
			const idx = Array.from({ length: to - from }, (_, k) => from + k);
			return mapBounded(idx, 32, async (i) => {
				const r = await postJson(`${p.baseUrl}/v1/users/${userId(i)}/tokens`, { ttl_seconds: 4 * 3600 }, auth);
				if (r.status !== 201) throw new Error(`token → ${r.status} ${JSON.stringify(r.body)}`);
				return { i, user: userId(i), device: `d-${userId(i)}`, token: r.body.token };
			});
		},
		async tag(tag, from, to) {
			for (const { users } of membersIn({ [tag]: [from, to] }, from, to)) {
				for (let k = 0; k < users.length; k += 1000) {
					const r = await postJson(`${p.baseUrl}/v1/tags/${tag}/users`, { add: users.slice(k, k + 1000) }, auth);
					if (r.status !== 200) throw new Error(`tag add → ${r.status} ${JSON.stringify(r.body)}`);
				}
			}
		},
		publishDirect: (i, meta) => send({ users: [userId(i)] }, meta),
		publishUsers: (indices, meta) => send({ users: indices.map(userId) }, meta),
		broadcast: (tag, meta) => send({ tags: { any: [tag] } }, meta),
		counters: () => p.counters(),
		resetCounters: () => p.resetCounters(),
		stop: () => p.dispose(),
	};
}

// ---- Baseline 1: raw in-memory ws server --------------------------------------------------------

export async function startWsBaseline() {
	const child = fork(join(here, "ws-baseline-server.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
	const port = await new Promise((resolve, reject) => {
		child.once("message", (m) => resolve(m.port));
		child.once("exit", (code) => reject(new Error(`ws baseline exited ${code}`)));
	});
	const base = `http://127.0.0.1:${port}`;
	const post = (path, body) => {
		const t = now();
		const content = { type: "text", body: JSON.stringify({ ...body.meta, t0: t }) };
		return postJson(`${base}${path}`, { ...body.target, content }).then((r) => result(r, t, r.status === 202));
	};
	return {
		name: "ws",
		label: "raw ws (in-memory)",
		kind: "warbler",
		clientUrl: base.replace(/^http/, "ws"),
		pid: child.pid,
		async prepare(from, to, tags) {
			for (const { tag, users } of membersIn(tags, from, to)) {
				for (let k = 0; k < users.length; k += 1000)
					await postJson(`${base}/tags/${tag}/users`, { add: users.slice(k, k + 1000) });
			}
			return Array.from({ length: to - from }, (_, k) => ({
				i: from + k,
				user: userId(from + k),
				device: `d-${userId(from + k)}`,
			}));
		},
		publishDirect: (i, meta) => post("/publish", { target: { user: userId(i) }, meta }),
		broadcast: (tag, meta) => post("/broadcast", { target: { tag }, meta }),
		async stop() {
			child.kill("SIGTERM");
			await new Promise((r) => child.once("exit", r));
		},
	};
}

// ---- Baseline 2: Mosquitto QoS 1 ------------------------------------------------------------------

export async function startMosquittoSystem({ bin, tmp }) {
	const broker = await startMosquitto(bin, tmp);
	const pub = mqtt.connect(broker.url, {
		clientId: `bench-publisher-${process.pid}`,
		clean: true,
		reconnectPeriod: 0,
		protocolVersion: 4,
	});
	await new Promise((resolve, reject) => {
		pub.once("connect", resolve);
		pub.once("error", reject);
	});
	let seq = 0;
	const publish = (topic, meta) =>
		new Promise((resolve) => {
			const id = `q${++seq}`;
			const t0 = now();
			pub.publish(topic, JSON.stringify({ id, ...meta, t0 }), { qos: 1 }, (err) =>
				resolve({ id, t0, ok: !err, apiMs: now() - t0, error: err ? String(err) : undefined }),
			);
		});
	return {
		name: "mqtt",
		label: "Mosquitto QoS 1",
		kind: "mqtt",
		clientUrl: broker.url,
		pid: broker.pid,
		async prepare(from, to, tags) {
			return Array.from({ length: to - from }, (_, k) => {
				const i = from + k;
				const mine = Object.entries(tags)
					.filter(([, [a, b]]) => i >= a && i < b)
					.map(([tag]) => `t/${tag}`);
				return { i, user: userId(i), device: `d-${userId(i)}`, topics: [`u/${userId(i)}`, ...mine] };
			});
		},
		publishDirect: (i, meta) => publish(`u/${userId(i)}`, meta),
		broadcast: (tag, meta) => publish(`t/${tag}`, meta),
		async stop() {
			pub.end(true);
			await broker.stop();
		},
	};
}
