import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardOfUser } from "../../../core/objects/shard.js";
import type { Shard } from "../../../core/shard/shard.js";
import { eventually, TestSocket, text } from "../delivery/helpers.js";
import { call, clientToken, newApp, newKey } from "../http.js";
import { expectError } from "./helpers.js";

const FIELDS = ["targeted", "delivered", "acked", "opened", "clicked", "failed", "expired", "capped", "dropped"] as const;
type Counts = Record<(typeof FIELDS)[number], number> & { by_channel: Record<string, { sent: number; failed: number }> };

/** What a user can recount: the sum of the messages' own counts, over `GET /v1/messages/{id}`. */
async function recount(key: string, ids: string[]) {
	const sum = Object.fromEntries(FIELDS.map((f) => [f, 0])) as Record<(typeof FIELDS)[number], number>;
	let sent = 0;
	let vendorFailed = 0;
	for (const id of ids) {
		const m = await call("GET", `/v1/messages/${id}`, key);
		expect(m.status).toBe(200);
		const c = m.body.counts as Counts;
		for (const f of FIELDS) sum[f] += c[f];
		for (const v of Object.values(c.by_channel)) {
			sent += v.sent;
			vendorFailed += v.failed + ((v as { invalid_token?: number }).invalid_token ?? 0);
		}
	}
	return { ...sum, sent, vendorFailed };
}

const window = () => ({
	from: new Date(Date.now() - 2 * 3600_000).toISOString(),
	to: new Date(Date.now() + 3600_000).toISOString(),
});

describe("statistics: GET /v1/stats and /v1/stats/online", () => {
	it("equal a recount of the messages' own counts, by channel, platform and category; online now counts open sockets", async () => {
		const { key } = await newApp();
		const alice = await TestSocket.open(await clientToken(key, "alice"), "phone");
		const bob = await TestSocket.open(await clientToken(key, "bob"), "phone");
		await alice.hello(0);
		await bob.hello(0);
		// dave has only an FCM device and the app no FCM credentials: the vendor push fails.
		const device = await call("POST", "/v1/users/dave/devices", key, {
			id: "pixel",
			platform: "android",
			channel: "fcm",
			token: "t1",
		});
		expect(device.status).toBe(201);

		const ids: string[] = [];
		const send = async (body: unknown) => {
			const r = await call("POST", "/v1/messages", key, body);
			expect(r.status, r.text).toBe(202);
			ids.push(r.body.id);
			return r.body.id as string;
		};
		const promo = await send({
			audience: { users: ["alice", "bob", "carol"] },
			content: text("sale"),
			options: { category: "promo" },
		});
		await send({ audience: { users: ["alice"] }, content: text("hi") });
		await send({ audience: { users: ["dave"] }, content: text("vendor"), options: { channels: "vendor" } });
		await call("POST", "/v1/tags/all-users/users", key, { add: ["alice", "bob", "erin"] });
		const broadcast = await send({
			audience: { tags: { any: ["all-users"] } },
			content: text("news"),
			options: { category: "news" },
		});

		// alice acks everything and opens and clicks the promotion; bob only receives.
		await alice.next((f) => f.type === "message" && f.id === broadcast, 0, 20_000);
		alice.send({ type: "ack", seq: 3 });
		alice.send({ type: "event", id: promo, name: "opened" });
		alice.send({ type: "event", id: promo, name: "clicked" });
		await bob.next((f) => f.type === "message" && f.id === broadcast, 0, 20_000);
		await alice.settle();

		const settled = await eventually(
			async () => ({
				recount: await recount(key, ids),
				stats: await call("GET", `/v1/stats?${new URLSearchParams(window())}`, key),
			}),
			(v) =>
				v.recount.acked === 3 &&
				v.recount.vendorFailed === 1 &&
				v.recount.clicked === 1 &&
				v.stats.body.totals?.failed === 1 &&
				v.stats.body.totals?.delivered === v.recount.delivered,
			15_000,
		);
		const { recount: expected, stats } = settled;
		expect(stats.status).toBe(200);
		expect(stats.body.interval).toBe("hour");
		expect(stats.body.totals).toMatchObject({
			accepted: 4,
			targeted: expected.targeted,
			delivered: expected.delivered,
			acked: expected.acked,
			opened: expected.opened,
			clicked: expected.clicked,
			expired: expected.expired,
			sent: expected.sent,
			// The vendor push that failed; no recipient was unreachable.
			failed: expected.failed + expected.vendorFailed,
		});
		expect(expected).toMatchObject({ targeted: 8, delivered: 5, acked: 3, opened: 1, clicked: 1, failed: 0 });
		// Every point sums to the totals.
		const [series] = stats.body.series;
		expect(series.key).toBeNull();
		expect(series.points.reduce((n: number, p: { targeted: number }) => n + p.targeted, 0)).toBe(8);

		const byChannel = await call("GET", `/v1/stats?${new URLSearchParams({ ...window(), group_by: "channel" })}`, key);
		const keyed = (body: { series: { key: string | null; points: Record<string, number>[] }[] }, k: string | null, f: string) =>
			body.series.find((s) => s.key === k)?.points.reduce((n, p) => n + (p[f] ?? 0), 0) ?? 0;
		expect(keyed(byChannel.body, "websocket", "delivered")).toBe(5);
		expect(keyed(byChannel.body, "fcm", "failed")).toBe(1);
		expect(keyed(byChannel.body, null, "accepted")).toBe(4);
		const byPlatform = await call("GET", `/v1/stats?${new URLSearchParams({ ...window(), group_by: "platform" })}`, key);
		expect(keyed(byPlatform.body, "android", "failed")).toBe(1);
		const byCategory = await call(
			"GET",
			`/v1/stats?${new URLSearchParams({ ...window(), group_by: "category", interval: "day" })}`,
			key,
		);
		expect(keyed(byCategory.body, "promo", "targeted")).toBe(3);
		expect(keyed(byCategory.body, "promo", "clicked")).toBe(1);
		expect(keyed(byCategory.body, "news", "targeted")).toBe(3);
		expect(keyed(byCategory.body, "default", "accepted")).toBe(2);

		const online = await call("GET", "/v1/stats/online", key);
		expect(online.body).toMatchObject({ users: 2, devices: 2 });
		bob.close();
		await bob.waitClosed().catch(() => undefined);
		await eventually(
			() => call("GET", "/v1/stats/online", key),
			(r) => r.body.devices === 1,
		);

		alice.close();
	}, 60_000);

	it("outlive the receipts: a message's final counts stay after its inbox entries retire", async () => {
		const { appId, key } = await newApp();
		const alice = await TestSocket.open(await clientToken(key, "alice"), "phone");
		await alice.hello(0);
		const sent = await call("POST", "/v1/messages", key, {
			audience: { users: ["alice", "bob"] },
			content: text("brief"),
			options: { ttl_seconds: 2 },
		});
		await alice.next((f) => f.type === "message");
		alice.send({ type: "ack", seq: 1 });
		await alice.settle();
		const shard = await shardOfUser(env, appId, "alice");
		// Past the TTL the shard's alarm takes the entry out of memory (bob never got it: expired).
		await new Promise((r) => setTimeout(r, 2_100));
		await runDurableObjectAlarm(shard.stub);
		const before = await eventually(
			() => call("GET", `/v1/stats?${new URLSearchParams(window())}`, key),
			(r) => r.body.totals.expired === 1,
		);
		expect(before.body.totals).toMatchObject({ accepted: 1, targeted: 2, delivered: 1, acked: 1, expired: 1 });
		const counts = (await call("GET", `/v1/messages/${sent.body.id}`, key)).body.counts;
		expect(counts).toMatchObject({ targeted: 2, delivered: 1, acked: 1, expired: 1 });

		// Seven days past the TTL the receipts retire: the message's counts read 0, the statistics stay.
		await runInDurableObject(shard.stub, (instance) => {
			const inner = (instance as unknown as { shard: Shard }).shard as unknown as { retireEntries(now: number): void };
			inner.retireEntries(Date.now() + 8 * 86_400_000);
		});
		expect((await call("GET", `/v1/messages/${sent.body.id}`, key)).body.counts).toMatchObject({ targeted: 2, delivered: 0 });
		const after = await call("GET", `/v1/stats?${new URLSearchParams(window())}`, key);
		expect(after.body.totals).toEqual(before.body.totals);
		alice.close();
	});

	it("rejects bad windows with 400 and answers only for the key's own app", async () => {
		const { appId, key } = await newApp();
		const other = await newApp();
		await call("POST", "/v1/messages", other.key, { audience: { users: ["x"] }, content: text("theirs") });
		const mine = await call("GET", "/v1/stats", key);
		expect(mine.status).toBe(200);
		expect(mine.body.totals.accepted).toBe(0);
		expectError(await call("GET", "/v1/stats?interval=minute", key), 400, "invalid_request");
		expectError(await call("GET", "/v1/stats?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", key), 400, "invalid_request");
		expectError(await call("GET", "/v1/stats?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", key), 400, "invalid_request");
		expectError(await call("GET", "/v1/stats?from=yesterday", key), 400, "invalid_request");
		expectError(await call("GET", "/v1/stats?group_by=user", key), 400, "invalid_request");
		expectError(await call("GET", "/v1/stats?extra=1", key), 400, "invalid_request");
		const { secret: sendOnly } = await newKey(appId, ["send"]);
		expectError(await call("GET", "/v1/stats", sendOnly), 403, "forbidden");
		expectError(await call("GET", "/v1/stats/online", "wbsk.nope"), 401, "unauthorized");
	});
});
