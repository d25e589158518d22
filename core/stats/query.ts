import { sql } from "drizzle-orm";
import { timeIdPrefix } from "../auth/crypto.js";
import { db } from "../db/client.js";
import { allShards } from "../objects/shard.js";
import type { HourStats } from "../shard/stats.js";
import { mapBounded } from "../util/bounded.js";
import {
	emptyStats,
	INTERVAL_MS,
	NO_CATEGORY_KEY,
	platformOf,
	type StatCounts,
	type StatField,
	type StatsGroupBy,
	type StatsInterval,
	WEBSOCKET_KEY,
} from "./fields.js";

export interface StatsQuery {
	from: Date;
	to: Date;
	interval: StatsInterval;
	groupBy?: StatsGroupBy;
}

export interface StatsPoint extends StatCounts {
	at: string;
}

export interface StatsResult {
	from: string;
	to: string;
	interval: StatsInterval;
	group_by: StatsGroupBy | null;
	series: { key: string | null; points: StatsPoint[] }[];
	totals: StatCounts;
}

/** Counts from one source, for one hour, one category and (for vendor counts) one channel. */
interface Part {
	hour: number;
	cat: string;
	channel: string;
	counts: Partial<StatCounts>;
}

/**
 * Statistics of an app's messages accepted in [from, to) (from rounded down and to rounded up to
 * the interval, UTC). Three sources, each already rolled up where its work happens:
 * - the shards: every recipient's inbox outcome, counted per hour and category (core/shard/stats.ts);
 * - D1 `messages`: how many were accepted;
 * - D1 `message_ledger_stats`: vendor outcomes by channel and unreachable recipients, copied by
 *   each message's ledger once per change batch.
 */
export async function queryStats(env: Env, appId: string, q: StatsQuery): Promise<StatsResult> {
	const step = INTERVAL_MS[q.interval];
	const from = Math.floor(q.from.getTime() / step) * step;
	const to = Math.max(from + step, Math.ceil(q.to.getTime() / step) * step);
	const [shardParts, accepted, ledger] = await Promise.all([
		fromShards(env, appId, from, to),
		acceptedPerHour(env, appId, from, to),
		ledgerPerHour(env, appId, from, to),
	]);

	const keyOf = (p: Part): string | null => {
		// Per-message numbers (accepted) belong to no channel: their series has the key null.
		if (q.groupBy === "channel") return p.channel || null;
		if (q.groupBy === "platform") return p.channel ? platformOf(p.channel) : null;
		if (q.groupBy === "category") return p.cat || NO_CATEGORY_KEY;
		return null;
	};
	const buckets = Math.round((to - from) / step);
	const series = new Map<string | null, StatCounts[]>();
	const totals = emptyStats();
	for (const p of [...shardParts, ...accepted, ...ledger]) {
		const key = keyOf(p);
		let points = series.get(key);
		if (!points) {
			points = Array.from({ length: buckets }, emptyStats);
			series.set(key, points);
		}
		const point = points[Math.floor((p.hour - from) / step)];
		if (!point) continue;
		for (const [f, n] of Object.entries(p.counts) as [StatField, number][]) {
			point[f] += n;
			totals[f] += n;
		}
	}
	const at = (i: number) => new Date(from + i * step).toISOString();
	return {
		from: new Date(from).toISOString(),
		to: new Date(to).toISOString(),
		interval: q.interval,
		group_by: q.groupBy ?? null,
		series: [...series.entries()]
			.sort(([a], [b]) => String(a).localeCompare(String(b)))
			.map(([key, points]) => ({ key, points: points.map((c, i) => ({ at: at(i), ...c })) })),
		totals,
	};
}

async function fromShards(env: Env, appId: string, from: number, to: number): Promise<Part[]> {
	const shards = await allShards(env, appId);
	const rows = await mapBounded(shards, 16, (s) => s.stub.statsAt({ appId, shard: s.name }, from, to));
	return rows.flat().map((r: HourStats) => ({ hour: r.hour, cat: r.cat, channel: WEBSOCKET_KEY, counts: r.counts }));
}

/** Message ids sort by acceptance time: a window of messages is one range of the primary key. */
function idRange(from: number, to: number): [string, string] {
	return [timeIdPrefix("msg", from), timeIdPrefix("msg", to)];
}

const HOUR = sql.raw("(CAST(strftime('%s', m.created_at) AS INTEGER) / 3600) * 3600000");
const CATEGORY = sql.raw("coalesce(json_extract(m.options, '$.category'), '')");

async function acceptedPerHour(env: Env, appId: string, from: number, to: number): Promise<Part[]> {
	const [lo, hi] = idRange(from, to);
	const rows = await db(env).all<{ hour: number; cat: string; n: number }>(
		sql`SELECT ${HOUR} AS hour, ${CATEGORY} AS cat, count(*) AS n FROM messages m
			WHERE m.app_id = ${appId} AND m.id >= ${lo} AND m.id < ${hi} GROUP BY hour, cat`,
	);
	return rows.map((r) => ({ hour: r.hour, cat: String(r.cat), channel: "", counts: { accepted: r.n } }));
}

async function ledgerPerHour(env: Env, appId: string, from: number, to: number): Promise<Part[]> {
	const [lo, hi] = idRange(from, to);
	const d = db(env);
	const [failed, vendor] = await Promise.all([
		d.all<{ hour: number; cat: string; n: number }>(
			sql`SELECT ${HOUR} AS hour, ${CATEGORY} AS cat, sum(s.failed) AS n
				FROM message_ledger_stats s JOIN messages m ON m.app_id = s.app_id AND m.id = s.message_id
				WHERE s.app_id = ${appId} AND s.message_id >= ${lo} AND s.message_id < ${hi} AND s.failed > 0
				GROUP BY hour, cat`,
		),
		d.all<{
			hour: number;
			cat: string;
			channel: string;
			sent: number;
			failed: number;
			invalid: number;
			quota: number;
			delivered: number;
			clicked: number;
		}>(
			sql`SELECT ${HOUR} AS hour, ${CATEGORY} AS cat, c.key AS channel,
				sum(coalesce(json_extract(c.value, '$.sent'), 0)) AS sent,
				sum(coalesce(json_extract(c.value, '$.failed'), 0)) AS failed,
				sum(coalesce(json_extract(c.value, '$.invalid_token'), 0)) AS invalid,
				sum(coalesce(json_extract(c.value, '$.quota_exceeded'), 0)) AS quota,
				sum(coalesce(json_extract(c.value, '$.delivered'), 0)) AS delivered,
				sum(coalesce(json_extract(c.value, '$.clicked'), 0)) AS clicked
				FROM message_ledger_stats s JOIN messages m ON m.app_id = s.app_id AND m.id = s.message_id,
				json_each(s.by_channel) c
				WHERE s.app_id = ${appId} AND s.message_id >= ${lo} AND s.message_id < ${hi}
				GROUP BY hour, cat, channel`,
		),
	]);
	return [
		// Recipients the fan-out could not reach count as targeted and failed, as in a message's counts.
		...failed.map((r) => ({
			hour: r.hour,
			cat: String(r.cat),
			channel: WEBSOCKET_KEY,
			counts: { targeted: r.n, failed: r.n },
		})),
		...vendor.map((r) => ({
			hour: r.hour,
			cat: String(r.cat),
			channel: r.channel,
			// Failed counts every push that did not go out for a vendor error or a dead token.
			counts: {
				sent: r.sent,
				failed: r.failed + r.invalid,
				invalid_token: r.invalid,
				quota_exceeded: r.quota,
				vendor_delivered: r.delivered,
				vendor_clicked: r.clicked,
			},
		})),
	];
}
