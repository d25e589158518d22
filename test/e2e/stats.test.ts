import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { api, createApp, wsUrl } from "./helpers.js";
import { deliveriesFor, eventually, useSimulatorCredentials } from "./sim.js";

/**
 * Statistics against the `npm start` stack: inbox counts from the shards, vendor outcomes copied by
 * the ledgers, accepted from D1, all equal to a recount of the messages the test sent.
 */
describe("statistics end to end", () => {
	it("GET /v1/stats equals the sum of the messages' own counts, vendor pushes and inboxes alike", async () => {
		const { key } = await createApp("stats-e2e");
		await useSimulatorCredentials(key, ["fcm", "apns"]);
		const fcmToken = `fcm-stats-${Date.now()}`;
		const apnsToken = "c3".repeat(32);
		expect(
			(await api("POST", "/v1/users/olga/devices", key, { id: "pixel", platform: "android", channel: "fcm", token: fcmToken }))
				.status,
		).toBe(201);
		expect(
			(await api("POST", "/v1/users/olga/devices", key, { id: "iphone", platform: "ios", channel: "apns", token: apnsToken }))
				.status,
		).toBe(201);

		expect((await api("PUT", "/v1/users/wes", key, {})).status).toBeLessThan(300);
		const token = (await api("POST", "/v1/users/wes/tokens", key, {})).body.token as string;
		const ws = new WebSocket(wsUrl(token, "laptop"), ["warbler.v1"]);
		const frames: { type: string; id?: string; seq?: number }[] = [];
		ws.on("message", (d) => frames.push(JSON.parse(String(d))));
		await new Promise((r) => ws.once("open", r));
		ws.send(JSON.stringify({ type: "hello", last_seq: 0 }));

		const ids: string[] = [];
		for (const users of [["olga"], ["wes"], ["olga", "wes", "nobody-online"]]) {
			const r = await api("POST", "/v1/messages", key, {
				audience: { users },
				content: { type: "text", title: "Stats", body: "count me" },
				options: { category: users.length > 1 ? "promo" : "transactional" },
			});
			expect(r.status).toBe(202);
			ids.push(r.body.id);
		}
		await deliveriesFor(fcmToken, 2);
		await deliveriesFor(apnsToken, 2);
		await eventually(
			async () => frames.filter((f) => f.type === "message").length,
			(n) => n === 2,
		);
		ws.send(JSON.stringify({ type: "ack", seq: 2 }));
		ws.send(JSON.stringify({ type: "event", id: ids[2], name: "opened" }));

		const recount = async () => {
			const sum = { targeted: 0, delivered: 0, acked: 0, opened: 0, sent: 0 };
			for (const id of ids) {
				const c = (await api("GET", `/v1/messages/${id}`, key)).body.counts;
				for (const f of ["targeted", "delivered", "acked", "opened"] as const) sum[f] += c[f];
				for (const v of Object.values(c.by_channel) as { sent: number }[]) sum.sent += v.sent;
			}
			return sum;
		};
		const range = new URLSearchParams({
			from: new Date(Date.now() - 3600_000).toISOString(),
			to: new Date(Date.now() + 3600_000).toISOString(),
			group_by: "channel",
		});
		const { expected, stats } = await eventually(
			async () => ({ expected: await recount(), stats: (await api("GET", `/v1/stats?${range}`, key)).body }),
			(v) => v.expected.sent === 4 && v.expected.acked === 2 && v.stats.totals.sent === 4 && v.stats.totals.acked === 2,
			30_000,
		);
		expect(expected).toEqual({ targeted: 5, delivered: 2, acked: 2, opened: 1, sent: 4 });
		expect(stats.totals).toMatchObject({ accepted: 3, ...expected, failed: 0 });
		const sum = (k: string, f: string) =>
			stats.series
				.find((s: { key: string | null }) => s.key === k)
				?.points.reduce((n: number, p: Record<string, number>) => n + p[f]!, 0);
		expect(sum("fcm", "sent")).toBe(2);
		expect(sum("apns", "sent")).toBe(2);
		expect(sum("websocket", "delivered")).toBe(2);

		const online = await api("GET", "/v1/stats/online", key);
		expect(online.body).toMatchObject({ users: 1, devices: 1 });
		ws.close();
	}, 90_000);
});
