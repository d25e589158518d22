import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { inboxFor, shardOfUser } from "../../../core/objects/shard.js";
import type { UserShard } from "../../../durable-objects/shard/user-shard.js";
import { CloseCode } from "../../../protocol/frames.js";
import { call, clientToken, newApp } from "../http.js";
import { eventually, TestSocket, text } from "./helpers.js";

const send = (key: string, user: string, body: string, options?: object) =>
	call("POST", "/v1/messages", key, { audience: { users: [user] }, content: text(body), ...(options ? { options } : {}) });

describe("inbox durability and retention", () => {
	it("survives a Durable Object restart mid-stream: hibernated sockets keep receiving, nothing is lost or repeated", async () => {
		const { appId, key } = await newApp();
		const s = await TestSocket.open(await clientToken(key, "ivy"), "d");
		await s.hello(0);
		for (let i = 1; i <= 3; i++) await send(key, "ivy", `before ${i}`);
		await evictDurableObject((await shardOfUser(env, appId, "ivy")).stub);
		for (let i = 4; i <= 6; i++) await send(key, "ivy", `after ${i}`);
		await s.next((f) => f.type === "message" && f.seq === 6);
		expect(s.messages().map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
		expect(await inboxFor(env, appId, "ivy").stats()).toEqual({ seq: 6, held: 6 });
		// Acks after the restart still prune the inbox.
		s.send({ type: "ack", seq: 6 });
		await eventually(
			() => inboxFor(env, appId, "ivy").stats(),
			(st) => st.held === 0,
		);
		s.close();
	});

	it("expires messages at their TTL: expired count, recipient status, and a gap frame for a late device", async () => {
		const { appId, key } = await newApp();
		const short = await send(key, "jay", "brief", { ttl_seconds: 1 });
		const kept = await send(key, "jay", "lasting");
		await new Promise((r) => setTimeout(r, 1100));
		const { stub } = await shardOfUser(env, appId, "jay");
		await runDurableObjectAlarm(stub);
		await runDurableObjectAlarm(stub); // the flush to the ledger follows the expiry
		const s = await TestSocket.open(await clientToken(key, "jay"), "d");
		await s.hello(0);
		expect(await s.next((f) => f.type === "gap")).toEqual({ type: "gap", from: 1, to: 1 });
		expect(await s.next((f) => f.type === "message")).toMatchObject({ seq: 2, id: kept.body.id });
		const recipient = await call("GET", `/v1/messages/${short.body.id}/recipients/jay`, key);
		expect(recipient.body.status).toBe("expired");
		const msg = await eventually(
			() => call("GET", `/v1/messages/${short.body.id}`, key),
			(r) => r.body.counts.expired === 1,
		);
		expect(msg.body.counts).toMatchObject({ targeted: 1, delivered: 0, expired: 1 });
		s.close();
	});

	it("drops the oldest past the per-app cap and tells the device with a gap", async () => {
		const { appId, key } = await newApp();
		await env.DB.prepare("UPDATE apps SET settings = ? WHERE id = ?")
			.bind(JSON.stringify({ inbox_cap: 3 }), appId)
			.run();
		for (let i = 1; i <= 5; i++) await send(key, "kim", `m${i}`);
		expect(await inboxFor(env, appId, "kim").stats()).toEqual({ seq: 5, held: 3 });
		const s = await TestSocket.open(await clientToken(key, "kim"), "d");
		await s.hello(0);
		expect(await s.next((f) => f.type === "gap")).toEqual({ type: "gap", from: 1, to: 2 });
		await s.next((f) => f.type === "message" && f.seq === 5);
		expect(s.messages().map((m) => m.seq)).toEqual([3, 4, 5]);
		s.close();
	});

	it("counts opened and clicked events from devices", async () => {
		const { key } = await newApp();
		const s = await TestSocket.open(await clientToken(key, "lee"), "d");
		await s.hello(0);
		const sent = await send(key, "lee", "tap me");
		await s.next((f) => f.type === "message");
		s.send({ type: "ack", seq: 1 });
		s.send({ type: "event", id: sent.body.id, name: "opened" });
		s.send({ type: "event", id: sent.body.id, name: "clicked" });
		const msg = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.clicked === 1,
		);
		expect(msg.body.counts).toMatchObject({ delivered: 1, acked: 1, opened: 1, clicked: 1 });
		const recipient = await call("GET", `/v1/messages/${sent.body.id}/recipients/lee`, key);
		expect(recipient.body).toMatchObject({ status: "opened" });
		expect(recipient.body.opened_at).toBeTypeOf("string");
		expect(recipient.body.clicked_at).toBeTypeOf("string");
		s.close();
	});
});

describe("recall of a message a device already showed", () => {
	it("tells a device that was offline during the recall when it resumes, and only then", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "quinn");
		const s = await TestSocket.open(token, "d");
		await s.hello(0);
		const sent = await send(key, "quinn", "shown, then recalled");
		await s.next((f) => f.type === "message");
		s.send({ type: "ack", seq: 1 });
		s.close();
		await s.waitClosed().catch(() => undefined);
		await new Promise((r) => setTimeout(r, 20));
		expect((await call("DELETE", `/v1/messages/${sent.body.id}`, key)).status).toBe(200);
		const back = await TestSocket.open(token, "d");
		await back.hello(1);
		expect(await back.next((f) => f.type === "recall")).toEqual({ type: "recall", id: sent.body.id });
		back.close();
		await back.waitClosed().catch(() => undefined);
		await new Promise((r) => setTimeout(r, 20));
		// Told once: the next resume does not repeat it.
		const again = await TestSocket.open(token, "d");
		await again.hello(1);
		await new Promise((r) => setTimeout(r, 100));
		expect(again.frames.filter((f) => f.type === "recall")).toEqual([]);
		again.close();
	});
});

describe("sessions", () => {
	it("answers bad frames with error frames and keeps the socket open; too many close it with 4002", async () => {
		const { key } = await newApp();
		const s = await TestSocket.open(await clientToken(key, "max"), "d");
		s.send({ type: "ack", seq: 1 });
		expect(await s.next((f) => f.type === "error")).toMatchObject({ code: "hello_required" });
		await s.hello(0);
		s.send("not json");
		s.send({ type: "hello" });
		s.send({ type: "ack", seq: -1 });
		s.send({ type: "nope" });
		await s.next((f) => f.type === "error" && f.code === "invalid_frame" && f.message.includes("Unknown"));
		s.send({ type: "ping" });
		await s.next((f) => f.type === "pong");
		expect(s.closed).toBeUndefined();
		for (let i = 0; i < 10; i++) s.send("{");
		expect((await s.waitClosed()).code).toBe(CloseCode.PROTOCOL_ERROR);
	});

	it("closes with 4001 when the client token expires while connected", async () => {
		const { appId, key } = await newApp();
		const s = await TestSocket.open(await clientToken(key, "ned", 60), "d");
		await s.hello(0);
		const { stub } = await shardOfUser(env, appId, "ned");
		await runInDurableObject(stub, async (shard: UserShard, state) => {
			for (const ws of state.getWebSockets()) {
				const att = ws.deserializeAttachment();
				ws.serializeAttachment({ ...att, tokenExp: Math.floor(Date.now() / 1000) - 1 });
			}
			shard.shard.tokensChanged();
		});
		await runDurableObjectAlarm(stub);
		expect((await s.waitClosed()).code).toBe(CloseCode.TOKEN_EXPIRED);
	});

	it("reports presence and erases everything on user delete, closing sessions with 4502", async () => {
		const { appId, key } = await newApp();
		await call("PUT", "/v1/users/ola", key, {});
		const token = await clientToken(key, "ola");
		const a = await TestSocket.open(token, "a");
		const b = await TestSocket.open(token, "b");
		await a.hello(0);
		await b.hello(0);
		expect((await call("GET", "/v1/users/ola", key)).body.online).toBe(2);
		await send(key, "ola", "bye");
		expect((await call("DELETE", "/v1/users/ola", key)).status).toBe(204);
		expect((await a.waitClosed()).code).toBe(CloseCode.USER_DELETED);
		expect(await inboxFor(env, appId, "ola").stats()).toEqual({ seq: 0, held: 0 });
		expect((await call("GET", "/v1/users/ola", key)).status).toBe(404);
	});

	it("a second connection of the same device replaces the first (4501)", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "pat");
		const first = await TestSocket.open(token, "same");
		await first.hello(0);
		const second = await TestSocket.open(token, "same");
		await second.hello(0);
		expect((await first.waitClosed()).code).toBe(CloseCode.REPLACED);
		expect((await call("GET", "/v1/users/pat", key)).body.online).toBe(1);
		second.close();
	});
});
