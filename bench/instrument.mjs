/**
 * Bench-only instrumentation that runs inside workerd, around the unmodified project code.
 *
 * The bench bundles a generated entry (bench/.tmp/entry.mjs) that re-exports the project's Worker
 * and Durable Object classes through these wrappers. Nothing in workers/ or durable-objects/ changes:
 * the wrappers only see what crosses the bindings (env) and the DO/handler boundaries.
 *
 * Counted (all from the caller's side of each binding, as Cloudflare bills them):
 * - Worker invocations: fetch (by route) and queue consumer batches.
 * - DO requests: every RPC method call and fetch() on a stub (each is one billed request), plus alarm
 *   invocations and incoming WebSocket messages seen by the DO classes.
 * - Queue operations: messages written (send/sendBatch), read (delivered to the consumer), acked and
 *   retried, per queue, in 64 KB chunks.
 * - D1: statements, rows read and rows written, from the `meta` of every D1 response.
 * - DO SQLite storage: rows read/written by `ctx.storage.sql.exec` cursors, and `setAlarm` calls.
 *
 * Counters are per isolate. In workerd (Miniflare) the Worker and its Durable Objects share one
 * isolate, so `GET /__bench/counters` on the Worker sees everything; the bench checks this with a
 * probe and says so if it ever stops being true.
 */

/** Random values are not allowed at global scope in workerd: made on first use. */
let isolateId;
function isolate() {
	isolateId ??= crypto.randomUUID();
	return isolateId;
}

function fresh() {
	return {
		isolate: "",
		worker: { fetch: 0, byRoute: {}, queueBatches: 0, queueBatchesBy: {} },
		doRequests: { rpc: {}, fetch: {}, alarm: {}, wsMessage: {}, wsClose: {} },
		/** Durable Object instances started (constructor runs: a new object, or one woken after eviction). */
		doStarted: {},
		queues: {},
		d1: { statements: 0, rowsRead: 0, rowsWritten: 0, responses: 0, noMeta: 0 },
		doSql: {},
		patched: { d1: false, sqlCursorCounts: false },
	};
}

let C = fresh();

function bump(obj, key, n = 1) {
	obj[key] = (obj[key] ?? 0) + n;
}

function queueStats(name) {
	let q = C.queues[name];
	if (!q) {
		q = { written: 0, writtenChunks: 0, read: 0, acked: 0, retried: 0 };
		C.queues[name] = q;
	}
	return q;
}

function chunks(body) {
	try {
		const bytes = new TextEncoder().encode(JSON.stringify(body)).byteLength;
		return Math.max(1, Math.ceil(bytes / 65536));
	} catch {
		return 1;
	}
}

function routeOf(method, path) {
	if (path === "/v1/connect") return "GET /v1/connect (WebSocket)";
	const p = path
		.replace(/^\/v1\/messages\/[^/]+\/recipients\/[^/]+$/, "/v1/messages/{id}/recipients/{userId}")
		.replace(/^\/v1\/messages\/[^/]+$/, "/v1/messages/{id}")
		.replace(/^\/v1\/users\/[^/]+\/tokens$/, "/v1/users/{id}/tokens")
		.replace(/^\/v1\/users\/[^/]+\/tags$/, "/v1/users/{id}/tags")
		.replace(/^\/v1\/users\/[^/]+$/, "/v1/users/{id}")
		.replace(/^\/v1\/tags\/[^/]+\/users$/, "/v1/tags/{tag}/users")
		.replace(/^\/v1\/apps\/[^/]+.*$/, "/v1/apps/…");
	return `${method} ${p}`;
}

// ---- D1: sum meta.rows_read / rows_written of every response -----------------------------------

function patchD1(db) {
	if (C.patched.d1) return;
	let proto = db.alwaysPrimarySession;
	while (proto && !Object.hasOwn(proto, "_send")) proto = Object.getPrototypeOf(proto);
	if (!proto || typeof proto._send !== "function" || proto._send.__benchPatched) {
		C.patched.d1 = Boolean(proto?._send?.__benchPatched);
		return;
	}
	const original = proto._send;
	const patched = async function (...args) {
		const res = await original.apply(this, args);
		for (const r of Array.isArray(res) ? res : [res]) {
			C.d1.responses++;
			C.d1.statements++;
			const meta = r?.meta;
			if (meta && typeof meta.rows_read === "number") {
				C.d1.rowsRead += meta.rows_read;
				C.d1.rowsWritten += meta.rows_written ?? 0;
			} else {
				C.d1.noMeta++;
			}
		}
		return res;
	};
	patched.__benchPatched = true;
	proto._send = patched;
	C.patched.d1 = true;
}

// ---- Durable Object namespaces: count every stub call ------------------------------------------

const PASS = new Set(["id", "name", "then", "toJSON", "constructor"]);

function wrapStub(stub, ns) {
	return new Proxy(stub, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof prop === "symbol" || PASS.has(prop)) return value;
			if (prop === "fetch") {
				return (...args) => {
					bump(C.doRequests.fetch, ns);
					return target.fetch(...args);
				};
			}
			return (...args) => {
				bump(C.doRequests.rpc, `${ns}.${prop}`);
				return target[prop](...args);
			};
		},
	});
}

function wrapNamespace(nsBinding, ns) {
	return new Proxy(nsBinding, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (prop === "get" || prop === "getByName") {
				return (...args) => wrapStub(target[prop](...args), ns);
			}
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

// ---- Queue producers ---------------------------------------------------------------------------

function wrapProducer(producer, queueName) {
	return {
		send(body, options) {
			const q = queueStats(queueName);
			q.written++;
			q.writtenChunks += chunks(body);
			return producer.send(body, options);
		},
		sendBatch(messages, options) {
			const q = queueStats(queueName);
			for (const m of messages) {
				q.written++;
				q.writtenChunks += chunks(m.body);
			}
			return producer.sendBatch(messages, options);
		},
	};
}

// ---- env ---------------------------------------------------------------------------------------

const wrappedEnvs = new WeakMap();
let queueNames = {};

/** Binding name → queue name, from the bench (wrangler.toml), so counts are per queue. */
export function setQueueNames(map) {
	queueNames = map ?? {};
}

export function wrapEnv(env) {
	if (!env || typeof env !== "object") return env;
	const cached = wrappedEnvs.get(env);
	if (cached) return cached;
	const out = {};
	for (const key of Object.keys(env)) {
		const v = env[key];
		if (v && typeof v === "object" && typeof v.prepare === "function" && typeof v.batch === "function") {
			patchD1(v);
			out[key] = v;
		} else if (v && typeof v === "object" && typeof v.idFromName === "function") {
			out[key] = wrapNamespace(v, key);
		} else if (v && typeof v === "object" && typeof v.send === "function" && typeof v.sendBatch === "function") {
			out[key] = wrapProducer(v, queueNames[key] ?? key);
		} else {
			out[key] = v;
		}
	}
	wrappedEnvs.set(env, out);
	return out;
}

// ---- DO SQLite rows ----------------------------------------------------------------------------

function sqlStats(cls) {
	let s = C.doSql[cls];
	if (!s) {
		s = { execs: 0, rowsRead: 0, rowsWritten: 0, setAlarm: 0 };
		C.doSql[cls] = s;
	}
	return s;
}

/** Cursors whose counts may still grow; harvested on the next exec and on every snapshot. */
const pending = new Set();

function harvest(entry) {
	const { cursor, stats } = entry;
	try {
		const r = cursor.rowsRead;
		const w = cursor.rowsWritten;
		stats.rowsRead += r - entry.r;
		stats.rowsWritten += w - entry.w;
		entry.r = r;
		entry.w = w;
	} catch {
		// A cursor of a storage that is gone: its counts were taken at the last harvest.
	}
}

function harvestAll() {
	for (const e of pending) harvest(e);
	pending.clear();
}

function instrumentCtx(ctx, cls) {
	try {
		const storage = ctx.storage;
		const sql = storage.sql;
		if (sql && !sql.exec.__benchPatched) {
			const exec = sql.exec.bind(sql);
			const patched = (...args) => {
				// Earlier cursors are finished by now (the project reads them synchronously).
				harvestAll();
				const stats = sqlStats(cls);
				stats.execs++;
				const cursor = exec(...args);
				const entry = { cursor, stats, r: 0, w: 0 };
				harvest(entry);
				pending.add(entry);
				return cursor;
			};
			patched.__benchPatched = true;
			sql.exec = patched;
			C.patched.sqlCursorCounts = ctx.storage.sql.exec === patched;
		}
		if (!storage.setAlarm.__benchPatched) {
			const setAlarm = storage.setAlarm.bind(storage);
			const patched = (...args) => {
				sqlStats(cls).setAlarm++;
				return setAlarm(...args);
			};
			patched.__benchPatched = true;
			storage.setAlarm = patched;
		}
	} catch {
		// Native objects that refuse the patch: storage rows are then reported as not measured.
	}
}

/** A subclass of a project Durable Object class that counts its invocations and storage rows. */
export function instrumentDurableObject(Base, cls) {
	const Wrapped = class extends Base {
		constructor(ctx, env) {
			bump(C.doStarted, cls);
			instrumentCtx(ctx, cls);
			super(ctx, wrapEnv(env));
		}
	};
	const proto = Base.prototype;
	if (typeof proto.alarm === "function") {
		Wrapped.prototype.alarm = function (...args) {
			bump(C.doRequests.alarm, cls);
			return proto.alarm.apply(this, args);
		};
	}
	if (typeof proto.webSocketMessage === "function") {
		Wrapped.prototype.webSocketMessage = function (...args) {
			bump(C.doRequests.wsMessage, cls);
			return proto.webSocketMessage.apply(this, args);
		};
	}
	if (typeof proto.webSocketClose === "function") {
		Wrapped.prototype.webSocketClose = function (...args) {
			bump(C.doRequests.wsClose, cls);
			return proto.webSocketClose.apply(this, args);
		};
	}
	Object.defineProperty(Wrapped, "name", { value: cls });
	return Wrapped;
}

// ---- The Worker --------------------------------------------------------------------------------

function wrapBatch(batch) {
	const q = queueStats(batch.queue);
	const messages = batch.messages.map((m) => {
		q.read += chunks(m.body);
		return new Proxy(m, {
			get(target, prop) {
				if (prop === "ack") {
					return (...a) => {
						q.acked += chunks(target.body);
						return target.ack(...a);
					};
				}
				if (prop === "retry") {
					return (...a) => {
						q.retried++;
						return target.retry(...a);
					};
				}
				const v = Reflect.get(target, prop);
				return typeof v === "function" ? v.bind(target) : v;
			},
		});
	});
	return {
		queue: batch.queue,
		messages,
		ackAll(...a) {
			for (const m of batch.messages) q.acked += chunks(m.body);
			return batch.ackAll(...a);
		},
		retryAll(...a) {
			q.retried += batch.messages.length;
			return batch.retryAll(...a);
		},
	};
}

export function snapshot() {
	harvestAll();
	C.isolate = isolate();
	return JSON.parse(JSON.stringify(C));
}

export function instrumentHandler(handler) {
	return {
		async fetch(request, env, ctx) {
			const url = new URL(request.url);
			if (url.pathname === "/__bench/counters") return Response.json(snapshot());
			if (url.pathname === "/__bench/reset") {
				harvestAll();
				const patched = C.patched;
				C = fresh();
				C.patched = patched;
				return Response.json({ ok: true, isolate: isolate() });
			}
			C.worker.fetch++;
			bump(C.worker.byRoute, routeOf(request.method, url.pathname));
			return handler.fetch(request, wrapEnv(env), ctx);
		},
		async queue(batch, env, ctx) {
			C.worker.queueBatches++;
			bump(C.worker.queueBatchesBy, batch.queue);
			return handler.queue(wrapBatch(batch), wrapEnv(env), ctx);
		},
		async scheduled(controller, env, ctx) {
			return handler.scheduled?.(controller, wrapEnv(env), ctx);
		},
	};
}
