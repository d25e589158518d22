/**
 * Baseline 1: a raw in-memory WebSocket push server (the `ws` package), run as its own process.
 *
 * It speaks the Warbler client protocol (hello/welcome/message/ack, resume from last_seq) so the
 * bench drives it with the very same client code, and keeps the same per-user inbox semantics in
 * memory: every message gets the user's next seq, stays until acked, and is replayed on resume.
 * No auth, no durability, no accounting: the floor of what pushing over WebSockets costs on this
 * machine.
 *
 * HTTP: POST /publish {user, content} → 202 {id}; POST /broadcast {tag, content} → 202 {id, users};
 * POST /tags/{tag}/users {add: [...]} → 200. WebSocket: GET /v1/connect?user=&device=.
 */
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

/** user → { seq, log: [{seq, id, frame}], sockets: Set<ws>, acked: Map<device, seq> } */
const users = new Map();
const tags = new Map();
let nextId = 0;

function user(id) {
	let u = users.get(id);
	if (!u) {
		u = { seq: 0, log: [], sockets: new Set(), acked: new Map() };
		users.set(id, u);
	}
	return u;
}

function deliver(userId, id, content, sentAt) {
	const u = user(userId);
	const seq = ++u.seq;
	const frame = JSON.stringify({ type: "message", seq, id, content, sent_at: sentAt });
	u.log.push({ seq, id, frame });
	for (const ws of u.sockets) if (ws.ready) ws.send(frame);
}

function prune(u) {
	let min = Number.POSITIVE_INFINITY;
	for (const s of u.acked.values()) min = Math.min(min, s);
	if (!Number.isFinite(min)) return;
	let k = 0;
	while (k < u.log.length && u.log[k].seq <= min) k++;
	if (k) u.log.splice(0, k);
}

function readJson(req) {
	return new Promise((resolve, reject) => {
		const parts = [];
		req.on("data", (c) => parts.push(c));
		req.on("end", () => {
			try {
				resolve(JSON.parse(Buffer.concat(parts).toString() || "{}"));
			} catch (err) {
				reject(err);
			}
		});
		req.on("error", reject);
	});
}

function reply(res, status, body) {
	const s = JSON.stringify(body);
	res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s) });
	res.end(s);
}

const server = createServer(async (req, res) => {
	try {
		const url = new URL(req.url, "http://x");
		if (req.method === "POST" && url.pathname === "/publish") {
			const b = await readJson(req);
			const id = `m${++nextId}`;
			deliver(b.user, id, b.content, new Date().toISOString());
			return reply(res, 202, { id });
		}
		if (req.method === "POST" && url.pathname === "/broadcast") {
			const b = await readJson(req);
			const id = `m${++nextId}`;
			const members = tags.get(b.tag) ?? new Set();
			const sentAt = new Date().toISOString();
			for (const u of members) deliver(u, id, b.content, sentAt);
			return reply(res, 202, { id, users: members.size });
		}
		const m = url.pathname.match(/^\/tags\/([^/]+)\/users$/);
		if (req.method === "POST" && m) {
			const b = await readJson(req);
			let set = tags.get(m[1]);
			if (!set) {
				set = new Set();
				tags.set(m[1], set);
			}
			for (const u of b.add ?? []) set.add(u);
			return reply(res, 200, { added: (b.add ?? []).length });
		}
		if (url.pathname === "/stats") {
			let held = 0;
			for (const u of users.values()) held += u.log.length;
			return reply(res, 200, { users: users.size, held, rssMb: process.memoryUsage().rss / 2 ** 20 });
		}
		reply(res, 404, { error: { code: "not_found", message: "no such route" } });
	} catch (err) {
		reply(res, 400, { error: { code: "invalid_request", message: String(err) } });
	}
});
server.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on("upgrade", (req, socket, head) => {
	const url = new URL(req.url, "http://x");
	const userId = url.searchParams.get("user");
	const device = url.searchParams.get("device");
	if (url.pathname !== "/v1/connect" || !userId || !device) {
		socket.destroy();
		return;
	}
	wss.handleUpgrade(req, socket, head, (ws) => {
		const u = user(userId);
		ws.ready = false;
		u.sockets.add(ws);
		ws.on("message", (data) => {
			let f;
			try {
				f = JSON.parse(String(data));
			} catch {
				return ws.send('{"type":"error","code":"invalid_frame","message":"not JSON"}');
			}
			if (f.type === "hello") {
				const from = f.last_seq > u.seq ? 0 : f.last_seq;
				u.acked.set(device, Math.max(u.acked.get(device) ?? 0, from));
				ws.send(JSON.stringify({ type: "welcome", user_id: userId, device_id: device, seq: u.seq }));
				for (const e of u.log) if (e.seq > from) ws.send(e.frame);
				ws.ready = true;
				prune(u);
			} else if (f.type === "ack") {
				u.acked.set(device, Math.max(u.acked.get(device) ?? 0, Math.min(f.seq, u.seq)));
				prune(u);
			} else if (f.type === "ping") {
				ws.send('{"type":"pong"}');
			}
		});
		ws.on("close", () => u.sockets.delete(ws));
		ws.on("error", () => u.sockets.delete(ws));
	});
});

server.listen(0, "127.0.0.1", () => {
	process.send?.({ ready: true, port: server.address().port });
});
process.on("disconnect", () => process.exit(0));
