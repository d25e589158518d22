import { queryStats } from "../stats/query.js";
import { monthBounds } from "./period.js";

/** Per-day deliveries by channel, opens and clicks (usage), from the statistics rollups. */
export interface RollupDay {
	deliveries: Record<string, number>;
	opens: number;
	clicks: number;
}

/** The part of `GET /v1/stats` (interval day, group_by channel) that usage reads. */
export interface StatsByChannel {
	series: { key: string | null; points: { at: string; delivered: number; sent: number; opened: number; clicked: number }[] }[];
}

/**
 * A channel's deliveries are WebSocket `delivered` or a vendor's `sent`; opens and clicks are summed
 * over channels. Days are the UTC dates of the points (`interval: "day"`).
 */
export function rollupFromStats(stats: StatsByChannel): Map<string, RollupDay> {
	const out = new Map<string, RollupDay>();
	for (const s of stats.series) {
		const channel = s.key ?? "unknown";
		for (const p of s.points) {
			const date = p.at.slice(0, 10);
			const day = out.get(date) ?? { deliveries: {}, opens: 0, clicks: 0 };
			const n = channel === "websocket" ? p.delivered : p.sent;
			if (n) day.deliveries[channel] = (day.deliveries[channel] ?? 0) + n;
			day.opens += p.opened;
			day.clicks += p.clicked;
			out.set(date, day);
		}
	}
	return out;
}

/**
 * Deliveries by channel, opens and clicks per day of `month`: the one place usage and the
 * deliveries quota read the shards' rollups, through the statistics query (one call).
 */
export async function rollupDays(env: Env, appId: string, month: string): Promise<Map<string, RollupDay>> {
	const { from, to } = monthBounds(month);
	return rollupFromStats(
		await queryStats(env, appId, { from: new Date(from), to: new Date(to), interval: "day", groupBy: "channel" }),
	);
}

/** Every delivery of a month, all channels: what `deliveries_per_month` counts. */
export function totalDeliveries(days: Map<string, RollupDay>): number {
	let n = 0;
	for (const d of days.values()) for (const v of Object.values(d.deliveries)) n += v;
	return n;
}
