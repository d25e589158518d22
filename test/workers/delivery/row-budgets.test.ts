/**
 * Row budgets of the shard, from its own storage counters (SQLite's rows written, as billed): a
 * broadcast costs a handful of rows per shard whatever the number of its recipients, a direct push
 * at most two, and the alarm is set far less often than once per message.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardStub } from "../../../core/objects/shard.js";
import { shardName } from "../../../core/shard/addressing.js";
import type { ShardDelivery } from "../../../core/shard/api.js";
import type { UserShard } from "../../../durable-objects/shard/user-shard.js";
import { plainDelivery, TestSocket } from "./helpers.js";

function setup() {
	const appId = `app_rows_${crypto.randomUUID()}`;
	const shard = shardName(appId, 0);
	const stub = shardStub(env, appId, 0);
	let n = 0;
	const delivery = (users: string[], tally = false): ShardDelivery =>
		plainDelivery({ appId, shard }, `msg_${String(n++).padStart(6, "0")}`, users, 1, tally);
	const counters = () => runInDurableObject(stub, (s: UserShard) => s.rowCounters());
	/** Runs the pending alarm (the flush) if there is one. */
	const flush = () => runDurableObjectAlarm(stub);
	return { appId, shard, stub, delivery, counters, flush };
}

/** Opens a ready socket per user that acks every message it gets. */
async function ackingDevices(s: ReturnType<typeof setup>, users: string[]) {
	const sockets: TestSocket[] = [];
	for (const userId of users) {
		const ws = await TestSocket.toShard(s.stub, { appId: s.appId, shard: s.shard, userId, deviceId: "phone" });
		ws.ws.addEventListener("message", (e) => {
			const f = JSON.parse(e.data as string);
			if (f.type === "message") ws.send({ type: "ack", seq: f.seq });
		});
		await ws.hello(0);
		sockets.push(ws);
	}
	return sockets;
}

async function rowsFor(s: ReturnType<typeof setup>, act: () => Promise<unknown>) {
	await s.flush();
	const before = await s.counters();
	await act();
	await s.flush();
	const after = await s.counters();
	return { rows: after.rowsWritten - before.rowsWritten, setAlarm: after.setAlarm - before.setAlarm };
}

describe("row budgets per shard", () => {
	for (const size of [20, 400]) {
		it(`a broadcast to ${size} users (a quarter online and acking) writes at most 10 rows, acks and flush included`, async () => {
			const s = setup();
			const users = Array.from({ length: size }, (_, i) => `u${i}`);
			const sockets = await ackingDevices(s, users.slice(0, size / 4));
			await s.stub.deliver(s.delivery(users)); // users exist from here on
			const { rows } = await rowsFor(s, async () => {
				await s.stub.deliver(s.delivery(users));
				for (const ws of sockets) await ws.settle();
			});
			expect(rows).toBeGreaterThan(0);
			expect(rows).toBeLessThanOrEqual(10);
			for (const ws of sockets) ws.close();
		});
	}

	it("direct pushes to online users that ack cost at most 2 rows each, and far fewer than one setAlarm each", async () => {
		const s = setup();
		const users = Array.from({ length: 40 }, (_, i) => `d${i}`);
		const sockets = await ackingDevices(s, users);
		for (const u of users) await s.stub.deliver(s.delivery([u]));
		const pushes = 200;
		const { rows, setAlarm } = await rowsFor(s, async () => {
			for (let i = 0; i < pushes; i++) await s.stub.deliver(s.delivery([users[i % users.length]!]));
			for (const ws of sockets) await ws.settle();
		});
		expect(rows / pushes).toBeLessThanOrEqual(2);
		expect(setAlarm / pushes).toBeLessThan(0.1);
		for (const ws of sockets) ws.close();
	});

	it("a new device's hello writes one row before the welcome: its user's chunk, not the device count", async () => {
		const s = setup();
		await ackingDevices(s, ["first"]); // the shard and its hot arrays exist
		await s.flush();
		const before = await s.counters();
		const [ws] = await ackingDevices(s, ["second"]);
		const after = await s.counters();
		expect(after.rowsWritten - before.rowsWritten).toBe(1);
		expect(after.chunkWrites - before.chunkWrites).toBe(1);
		ws?.close();
	});
});

describe("device numbers", () => {
	const numbers = (s: ReturnType<typeof setup>, userId: string) =>
		runInDurableObject(s.stub, (o: UserShard) => {
			const uid = o.shard.store.uidOf.get(userId);
			const user = uid === undefined ? undefined : o.shard.store.user(uid);
			return Object.fromEntries(Object.entries(user?.dev ?? {}).map(([id, [n]]) => [id, n]));
		});
	const hello = async (s: ReturnType<typeof setup>, userId: string, deviceId: string) => {
		const ws = await TestSocket.toShard(s.stub, { appId: s.appId, shard: s.shard, userId, deviceId });
		await ws.hello(0);
		ws.close();
	};

	it("survive a crash without the device count written, and a removed device's number is never given again", async () => {
		const s = setup();
		await hello(s, "ann", "phone");
		await hello(s, "ann", "tablet");
		await hello(s, "bob", "phone");
		expect(await numbers(s, "ann")).toEqual({ phone: 0, tablet: 1 });
		// Crash before any flush: the numbers come back from the users' chunk rows.
		await s.stub.stats({ appId: s.appId, shard: s.shard }, "ann");
		await evictDurableObject(s.stub);
		expect(await numbers(s, "ann")).toEqual({ phone: 0, tablet: 1 });
		expect(await numbers(s, "bob")).toEqual({ phone: 2 });
		// Bob's phone, the highest number, goes away; after another crash a new device gets a new number.
		await s.stub.forgetDevice({ appId: s.appId, shard: s.shard }, "bob", "phone");
		await s.stub.stats({ appId: s.appId, shard: s.shard }, "ann");
		await evictDurableObject(s.stub);
		await hello(s, "cat", "phone");
		expect(await numbers(s, "bob")).toEqual({});
		expect(await numbers(s, "cat")).toEqual({ phone: 3 });
	});
});
