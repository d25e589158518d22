import { type Bucket, type PolicyState, refill, secondsToNextToken, stateOf } from "./buckets.js";
import { dayOf, monthOf, secondsToNextMonth } from "./period.js";
import type { AdmitInput, AdmitResult, ExternalUsage, MeterDay } from "./types.js";

const SCHEMA = [
	"CREATE TABLE IF NOT EXISTS daily (day TEXT PRIMARY KEY, api_requests INTEGER NOT NULL, messages INTEGER NOT NULL) WITHOUT ROWID",
	"CREATE TABLE IF NOT EXISTS notified (k TEXT PRIMARY KEY) WITHOUT ROWID",
	"CREATE TABLE IF NOT EXISTS external (month TEXT PRIMARY KEY, mau INTEGER NOT NULL, deliveries INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID",
];

/** How stale the cached MAU and deliveries may be before a send refreshes them (in the background). */
export const EXTERNAL_MAX_AGE_MS = 60_000;

/** A quota notification to send (`quota.warning` / `quota.exceeded`), decided once per key. */
export interface QuotaNotice {
	type: "quota.warning" | "quota.exceeded";
	limit: string;
	used: number;
	max: number;
	period: string;
}

/**
 * An app's meter: token buckets (memory only: an object that restarts starts with full buckets, which
 * errs on the side of the caller) and per-day counters of API requests and accepted messages. Counts
 * are added in memory and written at most once per `flush` (the object's alarm, one second later),
 * so a burst of requests costs one row write, not one per request.
 */
export class MeterState {
	private readonly buckets = new Map<string, Bucket>();
	private readonly pending = new Map<string, { api: number; messages: number }>();
	/** Messages this month: the table's sum once, then kept up to date here. */
	private monthTotal: { month: string; messages: number } | undefined;

	constructor(private readonly sql: SqlStorage) {
		for (const s of SCHEMA) sql.exec(s);
	}

	get dirty(): boolean {
		return this.pending.size > 0;
	}

	admit(input: AdmitInput, external: ExternalUsage | undefined): AdmitResult {
		const { now } = input;
		const policies: PolicyState[] = [];
		const checks: [string, "per-key" | "per-app", number][] = [];
		if (input.perKey && input.keyId) checks.push([`key:${input.keyId}`, "per-key", input.perKey]);
		if (input.perApp) checks.push(["app", "per-app", input.perApp]);
		const filled = checks.map(([k, name, rate]) => ({ k, name, rate, b: refill(this.buckets.get(k), rate, now) }));
		for (const f of filled) this.buckets.set(f.k, f.b);
		if (input.request) this.add(now, 1, 0);
		const empty = filled.find((f) => f.b.tokens < 1);
		if (empty) {
			return {
				ok: false,
				reason: "rate_limited",
				policies: filled.map((f) => stateOf(f.name, f.b, f.rate)),
				retryAfter: secondsToNextToken(empty.b, empty.rate),
			};
		}
		for (const f of filled) f.b.tokens -= 1;
		policies.push(...filled.map((f) => stateOf(f.name, f.b, f.rate)));
		const send = input.send;
		if (send) {
			const over = this.overQuota(send, external, now);
			if (over) return { ok: false, reason: "quota_exceeded", ...over, retryAfter: secondsToNextMonth(now), policies };
			this.add(now, 0, send.messages);
		}
		return { ok: true, policies };
	}

	/** Counts that an isolate batched (requests of apps whose plan decides nothing). */
	count(now: number, api: number, messages: number): void {
		this.add(now, api, messages);
	}

	/** A send counted by `admit` was not accepted after all (invalid, a replay, a failure). */
	refund(now: number, messages: number): void {
		this.add(now, 0, -messages);
	}

	/** Messages accepted this month (quota checks and notices). */
	messagesThisMonth(now: number): number {
		const month = monthOf(now);
		if (this.monthTotal?.month !== month) {
			const row = this.sql
				.exec<{ n: number | null }>(
					"SELECT sum(messages) AS n FROM daily WHERE day >= ? AND day < ?",
					`${month}-01`,
					`${month}-32`,
				)
				.one();
			let n = row.n ?? 0;
			for (const [day, p] of this.pending) if (day.startsWith(month)) n += p.messages;
			this.monthTotal = { month, messages: n };
		}
		return this.monthTotal.messages;
	}

	/** Per-day counts of a month, pending ones included. */
	days(month: string): MeterDay[] {
		const out = new Map<string, MeterDay>();
		for (const r of this.sql.exec<{ day: string; api_requests: number; messages: number }>(
			"SELECT day, api_requests, messages FROM daily WHERE day >= ? AND day < ?",
			`${month}-01`,
			`${month}-32`,
		)) {
			out.set(r.day, { date: r.day, api_requests: r.api_requests, messages_accepted: r.messages });
		}
		for (const [day, p] of this.pending) {
			if (!day.startsWith(month)) continue;
			const d = out.get(day) ?? { date: day, api_requests: 0, messages_accepted: 0 };
			d.api_requests += p.api;
			d.messages_accepted += p.messages;
			out.set(day, d);
		}
		return [...out.values()].sort((a, b) => a.date.localeCompare(b.date));
	}

	/** Writes what was counted in memory: one row per day touched. */
	flush(): void {
		for (const [day, p] of this.pending) {
			this.sql.exec(
				`INSERT INTO daily (day, api_requests, messages) VALUES (?, ?, ?)
				 ON CONFLICT (day) DO UPDATE SET api_requests = api_requests + excluded.api_requests, messages = messages + excluded.messages`,
				day,
				p.api,
				p.messages,
			);
		}
		this.pending.clear();
	}

	external(month: string): (ExternalUsage & { at: number }) | undefined {
		return this.sql
			.exec<{ mau: number; deliveries: number; at: number }>("SELECT mau, deliveries, at FROM external WHERE month = ?", month)
			.toArray()[0];
	}

	setExternal(month: string, usage: ExternalUsage, at: number): void {
		this.sql.exec(
			"INSERT INTO external (month, mau, deliveries, at) VALUES (?, ?, ?, ?) ON CONFLICT (month) DO UPDATE SET mau = excluded.mau, deliveries = excluded.deliveries, at = excluded.at",
			month,
			usage.mau,
			usage.deliveries,
			at,
		);
	}

	/**
	 * The notices due for `used` of `max`: a warning at 80 % and an exceeded at 100 %, each once per
	 * key (limit and period). `used` at 100 % also owes the warning, if the 80 % step was skipped.
	 */
	notices(limit: string, used: number, max: number, period: string): QuotaNotice[] {
		const out: QuotaNotice[] = [];
		const due: QuotaNotice["type"][] = [];
		if (used >= max * 0.8) due.push("quota.warning");
		if (used >= max) due.push("quota.exceeded");
		for (const type of due) {
			const k = `${type}|${limit}|${period}`;
			const fresh = this.sql.exec("INSERT INTO notified (k) VALUES (?) ON CONFLICT (k) DO NOTHING RETURNING k", k).toArray();
			if (fresh.length > 0) out.push({ type, limit, used, max, period });
		}
		return out;
	}

	private overQuota(send: NonNullable<AdmitInput["send"]>, external: ExternalUsage | undefined, now: number) {
		const messages = this.messagesThisMonth(now);
		if (send.messagesMax !== undefined && messages + send.messages > send.messagesMax) {
			return { limit: "messages_per_month", used: messages, max: send.messagesMax };
		}
		if (external && send.deliveriesMax !== undefined && external.deliveries >= send.deliveriesMax) {
			return { limit: "deliveries_per_month", used: external.deliveries, max: send.deliveriesMax };
		}
		if (external && send.mauMax !== undefined && external.mau > send.mauMax) {
			return { limit: "mau", used: external.mau, max: send.mauMax };
		}
		return undefined;
	}

	private add(now: number, api: number, messages: number): void {
		const day = dayOf(now);
		const p = this.pending.get(day) ?? { api: 0, messages: 0 };
		p.api += api;
		p.messages += messages;
		this.pending.set(day, p);
		if (messages !== 0 && this.monthTotal?.month === monthOf(now)) this.monthTotal.messages += messages;
	}
}
