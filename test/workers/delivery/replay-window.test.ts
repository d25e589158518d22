/**
 * A device that resumes with a large backlog gets it in windows: REPLAY_WINDOW messages at once,
 * then more as it acks (never more than a window unacked), in seq order, with live messages
 * waiting for the replay to reach them; every message exactly once.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardStub } from "../../../core/objects/shard.js";
import { shardName } from "../../../core/shard/addressing.js";
import type { ShardDelivery } from "../../../core/shard/api.js";
import { REPLAY_WINDOW } from "../../../core/shard/shard.js";
import { plainDelivery, TestSocket } from "./helpers.js";

describe("replaying a backlog", () => {
	it("sends a window at a time as the device acks; live messages wait their turn; nothing twice", async () => {
		const appId = `app_replay_${crypto.randomUUID()}`;
		const shard = shardName(appId, 0);
		const stub = shardStub(env, appId, 0);
		const deliver = (i: number) =>
			stub.deliver(plainDelivery({ appId, shard }, `msg_${String(i).padStart(5, "0")}`, ["reader"]) satisfies ShardDelivery);
		const backlog = 2 * REPLAY_WINDOW + 88;
		for (let i = 1; i <= backlog; i++) await deliver(i);

		const s = await TestSocket.toShard(stub, { appId, shard, userId: "reader", deviceId: "phone" });
		await s.hello(0);
		await s.settle();
		const seqs = () => s.messages().map((m) => m.seq);
		expect(seqs()).toEqual(Array.from({ length: REPLAY_WINDOW }, (_, i) => i + 1));
		// A new message while the device catches up is not sent ahead of the backlog.
		await deliver(backlog + 1);
		await s.settle();
		expect(seqs()).toHaveLength(REPLAY_WINDOW);
		// Acking half the window makes room for half a window more: never more than a window unacked.
		// (Waits for frames, not pongs: the runtime answers pings without waiting for the ack.)
		const upTo = (seq: number) => s.next((f) => f.type === "message" && f.seq === seq);
		s.send({ type: "ack", seq: REPLAY_WINDOW / 2 });
		await upTo(REPLAY_WINDOW + REPLAY_WINDOW / 2);
		await s.settle();
		expect(seqs().at(-1)).toBe(REPLAY_WINDOW + REPLAY_WINDOW / 2);
		for (let acked = REPLAY_WINDOW + REPLAY_WINDOW / 2; seqs().length < backlog + 1; ) {
			s.send({ type: "ack", seq: acked });
			await upTo(Math.min(acked + REPLAY_WINDOW, backlog + 1));
			acked = seqs().at(-1) ?? acked;
		}
		expect(seqs()).toEqual(Array.from({ length: backlog + 1 }, (_, i) => i + 1));
		// Caught up: the next message is live.
		await deliver(backlog + 2);
		await s.settle();
		expect(seqs().at(-1)).toBe(backlog + 2);
		expect(new Set(s.messages().map((m) => m.id)).size).toBe(backlog + 2);
		s.close();
	}, 60_000);
});
