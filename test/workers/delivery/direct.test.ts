import { describe, expect, it } from "vitest";
import { call, clientToken, newApp } from "../http.js";
import { eventually, TestSocket, text } from "./helpers.js";

describe("direct delivery", () => {
	it("delivers to an online device at once and to an offline one on reconnect", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "alice");
		const phone = await TestSocket.open(token, "phone");
		const welcome = await phone.hello(0);
		expect(welcome).toMatchObject({ type: "welcome", user_id: "alice", device_id: "phone", seq: 0 });

		const sent = await call("POST", "/v1/messages", key, { audience: { users: ["alice"] }, content: text("hi") });
		expect(sent.status).toBe(202);
		expect(sent.body).toMatchObject({ status: "accepted" });
		const frame = await phone.next((f) => f.type === "message");
		expect(frame).toMatchObject({ type: "message", seq: 1, id: sent.body.id, content: { type: "text", body: "hi" } });

		// A second device that was never online gets it on its first hello.
		const tablet = await TestSocket.open(token, "tablet");
		await tablet.hello(0);
		const replay = await tablet.next((f) => f.type === "message");
		expect(replay).toMatchObject({ seq: 1, id: sent.body.id });

		const msg = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.status === "done" && r.body.counts.delivered === 1,
		);
		expect(msg.body.counts).toMatchObject({ targeted: 1, delivered: 1, failed: 0 });
		phone.close();
		tablet.close();
	});

	it("keeps a message for a device until it acks; ack by one device does not drop it for another", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "bob");
		const a = await TestSocket.open(token, "a");
		const b = await TestSocket.open(token, "b");
		await a.hello(0);
		await b.hello(0);
		const sent = await call("POST", "/v1/messages", key, { audience: { users: ["bob"] }, content: text("one") });
		await a.next((f) => f.type === "message");
		await b.next((f) => f.type === "message");
		a.send({ type: "ack", seq: 1 });
		b.close();
		await b.waitClosed().catch(() => undefined);

		// b reconnects from its last acked position (0): the message is still there for it.
		const b2 = await TestSocket.open(token, "b");
		await b2.hello(0);
		expect(await b2.next((f) => f.type === "message")).toMatchObject({ seq: 1, id: sent.body.id });
		b2.send({ type: "ack", seq: 1 });

		const recipient = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}/recipients/bob`, key),
			(r) => r.body.status === "acked",
		);
		expect(recipient.body).toMatchObject({ user_id: "bob", status: "acked" });
		expect(recipient.body.acked_at).toBeTypeOf("string");
		const counts = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.acked === 1,
		);
		expect(counts.body.counts).toMatchObject({ targeted: 1, delivered: 1, acked: 1 });
		a.close();
		b2.close();
	});

	it("replays only messages after last_seq, in order", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "carol");
		const ids: string[] = [];
		for (let i = 1; i <= 5; i++) {
			const r = await call("POST", "/v1/messages", key, { audience: { users: ["carol"] }, content: text(`m${i}`) });
			ids.push(r.body.id);
		}
		const s = await TestSocket.open(token, "d1");
		const welcome = await s.hello(2);
		expect(welcome).toMatchObject({ seq: 5 });
		await s.next((f) => f.type === "message" && f.seq === 5);
		expect(s.messages().map((m) => m.seq)).toEqual([3, 4, 5]);
		expect(s.messages().map((m) => m.id)).toEqual(ids.slice(2));
		s.close();
	});

	it("answers a repeated idempotency key with the first id and sends nothing again; a different body is a conflict", async () => {
		const { key } = await newApp();
		const body = { audience: { users: ["dave"] }, content: text("once"), options: { idempotency_key: "order-1" } };
		const first = await call("POST", "/v1/messages", key, body);
		const again = await call("POST", "/v1/messages", key, body);
		expect(first.status).toBe(202);
		expect(again.status).toBe(200);
		expect(again.body.id).toBe(first.body.id);
		const conflict = await call("POST", "/v1/messages", key, { ...body, content: text("twice") });
		expect(conflict.status).toBe(409);
		expect(conflict.body.error.code).toBe("conflict");
		const token = await clientToken(key, "dave");
		const s = await TestSocket.open(token, "d");
		const welcome = await s.hello(0);
		expect(welcome).toMatchObject({ seq: 1 });
		s.close();
	});

	it("collapses an undelivered older message with the same collapse key", async () => {
		const { key } = await newApp();
		const opts = { collapse_key: "score" };
		const older = await call("POST", "/v1/messages", key, { audience: { users: ["erin"] }, content: text("1:0"), options: opts });
		const newer = await call("POST", "/v1/messages", key, { audience: { users: ["erin"] }, content: text("2:0"), options: opts });
		const s = await TestSocket.open(await clientToken(key, "erin"), "d");
		await s.hello(0);
		await s.next((f) => f.type === "message");
		await new Promise((r) => setTimeout(r, 100));
		expect(s.messages().map((m) => m.id)).toEqual([newer.body.id]);
		const olderRecipient = await call("GET", `/v1/messages/${older.body.id}/recipients/erin`, key);
		expect(olderRecipient.body.status).toBe("expired");
		s.close();
	});

	it("recalls: connected devices get a recall frame and the message leaves the inbox", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "frank");
		const s = await TestSocket.open(token, "d");
		await s.hello(0);
		const sent = await call("POST", "/v1/messages", key, { audience: { users: ["frank"] }, content: text("oops") });
		await s.next((f) => f.type === "message");
		const recalled = await call("DELETE", `/v1/messages/${sent.body.id}`, key);
		expect(recalled.status).toBe(200);
		expect(await s.next((f) => f.type === "recall")).toEqual({ type: "recall", id: sent.body.id });
		const msg = await call("GET", `/v1/messages/${sent.body.id}`, key);
		expect(msg.body.status).toBe("recalled");
		// A fresh device resuming from 0 does not get the recalled message.
		const s2 = await TestSocket.open(token, "d2");
		await s2.hello(0);
		await new Promise((r) => setTimeout(r, 100));
		expect(s2.messages()).toEqual([]);
		s.close();
		s2.close();
	});

	it("rejects expired and garbage tokens with 401 before the upgrade, and another app's token cannot reach this app", async () => {
		const a = await newApp("a");
		const b = await newApp("b");
		const garbage = await exports_fetch("/v1/connect?token=not-a-jwt&device=d");
		expect(garbage.status).toBe(401);
		expect((await garbage.json()) as unknown).toMatchObject({ error: { code: "unauthorized" } });
		// A token of app B names B as audience: it opens B's inbox for that user, never A's.
		const tokenB = await clientToken(b.key, "shared-user");
		await call("POST", "/v1/messages", a.key, { audience: { users: ["shared-user"] }, content: text("for A") });
		const s = await TestSocket.open(tokenB, "d");
		const welcome = await s.hello(0);
		expect(welcome).toMatchObject({ seq: 0 });
		await new Promise((r) => setTimeout(r, 100));
		expect(s.messages()).toEqual([]);
		s.close();
	});
});

import { exports } from "cloudflare:workers";

function exports_fetch(path: string) {
	return exports.default.fetch(`http://warbler.test${path}`, { headers: { upgrade: "websocket" } });
}
