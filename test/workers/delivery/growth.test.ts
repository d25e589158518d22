/**
 * Growing an app's shards through the API while devices are connected and messages are in flight:
 * users move to the new shards with their inboxes, moved devices are told to reconnect (4003) and
 * resume exactly where they were, counts stay exact, and nothing is lost or repeated.
 */
import { describe, expect, it } from "vitest";
import { shardIndex } from "../../../core/shard/addressing.js";
import type { ServerFrame } from "../../../protocol/frames.js";
import { expectError } from "../api/helpers.js";
import { ADMIN, call, clientToken, newApp } from "../http.js";
import { eventually, TestSocket, text } from "./helpers.js";

const USERS = Array.from({ length: 40 }, (_, i) => `grower-${i}`);

async function connect(key: string, user: string, lastSeq = 0) {
	const socket = await TestSocket.open(await clientToken(key, user), "phone");
	const welcome = await socket.hello(lastSeq);
	return { socket, welcome };
}

describe("growing an app's shards", () => {
	it("moves users with their inboxes: moved devices reconnect and resume, counts stay exact, nothing repeats", async () => {
		const { appId, key } = await newApp();
		expect((await call("POST", "/v1/tags/all-growers/users", key, { add: USERS })).status).toBe(200);
		// Half the users online; of those, half ack what they get.
		const online = new Map<string, TestSocket>();
		for (const u of USERS.slice(0, 20)) online.set(u, (await connect(key, u)).socket);
		const first = await call("POST", "/v1/messages", key, {
			audience: { tags: { any: ["all-growers"] } },
			content: text("before"),
		});
		expect(first.status).toBe(202);
		for (const [u, s] of online) {
			const m = await s.next<Extract<ServerFrame, { type: "message" }>>((f) => f.type === "message");
			if (Number(u.split("-")[1]) % 2 === 0) s.send({ type: "ack", seq: m.seq });
		}
		await eventually(
			() => call("GET", `/v1/messages/${first.body.id}`, key),
			(r) => r.body.status === "done" && r.body.counts.acked === 10,
		);

		const grown = await call("PUT", `/v1/apps/${appId}/shards`, ADMIN, { count: 4 });
		expect(grown.status).toBe(200);
		expect(grown.body).toMatchObject({ previous: 1, count: 4 });
		const perShard = [0, 1, 2, 3].map((k) => USERS.filter((u) => shardIndex(u, 4) === k).length);
		expect(grown.body.users).toEqual(perShard);
		expect((await call("GET", `/v1/apps/${appId}`, ADMIN)).body.shard_count).toBe(4);

		// Devices of users that moved are closed with 4003; the others stay connected.
		for (const [u, s] of online) {
			if (shardIndex(u, 4) === 0) expect(s.closed).toBeUndefined();
			else expect((await s.waitClosed()).code).toBe(4003);
		}
		// They reconnect where they were: the same latest seq, unacked messages again, acked ones not.
		for (const [u, s] of online) {
			if (!s.closed) continue;
			const acked = Number(u.split("-")[1]) % 2 === 0;
			const again = await connect(key, u, acked ? 1 : 0);
			expect(again.welcome).toMatchObject({ seq: 1 });
			await again.socket.settle();
			expect(again.socket.messages().map((m) => m.id)).toEqual(acked ? [] : [first.body.id]);
			online.set(u, again.socket);
		}
		// Offline users of every shard find the first message when they connect; it is seq 1 everywhere.
		const late = await connect(key, USERS[39]!);
		expect(late.welcome).toMatchObject({ seq: 1 });
		expect(await late.socket.next((f) => f.type === "message")).toMatchObject({ id: first.body.id, seq: 1 });
		late.socket.close();

		// Counts of the first message are the same after the move as before.
		const firstNow = await call("GET", `/v1/messages/${first.body.id}`, key);
		expect(firstNow.body.counts).toMatchObject({ targeted: 40, acked: 10 });
		expect((await call("GET", `/v1/messages/${first.body.id}/recipients/${USERS[2]}`, key)).body.status).toBe("acked");

		// A broadcast and a direct push after the growth: seq 2 and 3 for each online user, once.
		const second = await call("POST", "/v1/messages", key, {
			audience: { tags: { any: ["all-growers"] } },
			content: text("after"),
		});
		const direct = await call("POST", "/v1/messages", key, { audience: { users: USERS.slice(0, 20) }, content: text("direct") });
		expect(direct.status).toBe(202);
		for (const s of online.values()) {
			await s.next((f) => f.type === "message" && f.id === direct.body.id);
			await s.settle();
			const mine = s.messages().filter((m) => m.id !== first.body.id);
			expect(mine.map((m) => [m.id, m.seq])).toEqual([
				[second.body.id, 2],
				[direct.body.id, 3],
			]);
		}
		const secondDone = await eventually(
			() => call("GET", `/v1/messages/${second.body.id}`, key),
			(r) => r.body.status === "done" && r.body.counts.delivered === 20,
		);
		expect(secondDone.body.counts).toMatchObject({ targeted: 40, delivered: 20, failed: 0 });
		for (const s of online.values()) s.close();
	}, 60_000);

	it("grows only to a power of two, never shrinks, and growing to the same count again changes nothing", async () => {
		const { appId, key } = await newApp();
		expectError(await call("PUT", `/v1/apps/${appId}/shards`, ADMIN, { count: 3 }), 400, "invalid_request");
		expectError(await call("PUT", `/v1/apps/${appId}/shards`, ADMIN, { count: 2048 }), 400, "invalid_request");
		expectError(await call("PUT", `/v1/apps/${appId}/shards`, ADMIN, { count: "2" }), 400, "invalid_request");
		expectError(await call("PUT", "/v1/apps/app_nope/shards", ADMIN, { count: 2 }), 404, "not_found");
		expectError(await call("PUT", `/v1/apps/${appId}/shards`, key, { count: 2 }), 401, "unauthorized");
		expect((await call("GET", `/v1/apps/${appId}`, ADMIN)).body.shard_count).toBe(1);
		expect((await call("PUT", `/v1/apps/${appId}/shards`, ADMIN, { count: 2 })).status).toBe(200);
		const again = await call("PUT", `/v1/apps/${appId}/shards`, ADMIN, { count: 2 });
		expect(again.body).toMatchObject({ previous: 2, count: 2 });
		expectError(await call("PUT", `/v1/apps/${appId}/shards`, ADMIN, { count: 1 }), 409, "conflict");
		expect((await call("GET", `/v1/apps/${appId}`, ADMIN)).body.shard_count).toBe(2);
	});
});
