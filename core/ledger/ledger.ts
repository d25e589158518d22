import type { MessageStatus, RecipientStatus } from "../../protocol/message.js";
import type { ResolveJob } from "../fanout/jobs.js";
import { META_SCHEMA, MetaTable } from "../objects/meta.js";
import { emptyCounts, type ShardCounts } from "../shard/api.js";
import type { ChannelCounts, JobResult, LedgerSummary, VendorOutcome, VendorResult } from "./types.js";

/**
 * One broadcast's status and exact counts. Shards report absolute counts of their recipients
 * (summed here; a repeated or late report never counts twice, and a shard restarted from an older
 * flush never takes a count back); fan-out jobs report once per job key, with the recipients whose
 * shard could not be reached.
 */
const SCHEMA = `
${META_SCHEMA}
CREATE TABLE IF NOT EXISTS jobs (job_key TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS shards (name TEXT PRIMARY KEY, counts TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failed (user_id TEXT PRIMARY KEY, reason TEXT) WITHOUT ROWID;
-- Final vendor outcome per device: absolute, so a repeated report changes nothing.
CREATE TABLE IF NOT EXISTS vendor (
  user_id TEXT NOT NULL, device_id TEXT NOT NULL, channel TEXT NOT NULL,
  outcome TEXT NOT NULL, reason TEXT, at INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id, channel)
);
`;

const COUNT_FIELDS = ["targeted", "delivered", "acked", "opened", "clicked", "expired", "recalled", "capped", "dropped"] as const;

export class Ledger {
	private readonly sql: SqlStorage;
	private readonly meta: MetaTable;

	constructor(sql: SqlStorage) {
		this.sql = sql;
		this.sql.exec(SCHEMA);
		this.meta = new MetaTable(this.sql);
	}

	/**
	 * A broadcast was accepted: the resolve job that starts its fan-out is kept, so that a fan-out
	 * that stops (a crash, a lost queue message) can be driven again until every shard has it.
	 */
	begin(resolve: ResolveJob, now: number, quietMs: number): void {
		this.meta.set("resolve", JSON.stringify(resolve));
		this.meta.set("progress_at", String(now));
		this.meta.set("quiet_ms", String(quietMs));
	}

	/** How long the fan-out may go without progress before it is driven again. */
	quietMs(fallback: number): number {
		return Number(this.meta.get("quiet_ms") ?? fallback);
	}

	/**
	 * What the watchdog does now: nothing more (done or recalled, or not a broadcast), wait until a
	 * later time (the fan-out moved recently), or send the resolve job again (it did not). Every
	 * part of a fan-out is idempotent, so a re-drive repeats nothing that already happened.
	 */
	watchdog(
		now: number,
		quietMs: number,
	): { action: "stop" } | { action: "wait"; until: number } | { action: "redrive"; job: ResolveJob } {
		const resolve = this.meta.get("resolve");
		const status = this.status();
		if (!resolve || status === "done" || status === "recalled") return { action: "stop" };
		const progressAt = Number(this.meta.get("progress_at") ?? "0");
		if (now - progressAt < quietMs) return { action: "wait", until: progressAt + quietMs };
		this.meta.set("progress_at", String(now));
		this.meta.set("redrives", String(Number(this.meta.get("redrives") ?? "0") + 1));
		return { action: "redrive", job: JSON.parse(resolve) as ResolveJob };
	}

	/** The resolver is paging the audience. */
	startFanout(): void {
		if (this.status() === "accepted") this.meta.set("status", "fanning_out");
		this.meta.set("progress_at", String(Date.now()));
	}

	isDone(): boolean {
		return this.status() === "done";
	}

	resolveJob(): ResolveJob | undefined {
		const r = this.meta.get("resolve");
		return r ? (JSON.parse(r) as ResolveJob) : undefined;
	}

	doneRecorded(): boolean {
		return this.meta.get("done_recorded") === "1";
	}

	recordDone(): void {
		this.meta.set("done_recorded", "1");
	}

	/** The resolver reached the end of the audience: `jobs` deliver jobs in all. */
	expectJobs(jobs: number): LedgerSummary {
		this.meta.set("expected_jobs", String(jobs));
		this.maybeDone();
		return this.summary();
	}

	/**
	 * Records one deliver job (once per key): its recipients whose shard stayed unreachable count as
	 * failed. Returns whether the message was recalled meanwhile.
	 */
	recordJob(jobKey: string, results: JobResult[], expectJobs?: number): { recalled: boolean } {
		if (expectJobs !== undefined) this.meta.set("expected_jobs", String(expectJobs));
		const fresh = this.sql.exec("INSERT OR IGNORE INTO jobs (job_key, at) VALUES (?, ?)", jobKey, Date.now()).rowsWritten > 0;
		if (fresh) {
			this.meta.set("progress_at", String(Date.now()));
			for (const r of results) {
				if (r.outcome !== "failed") continue;
				this.sql.exec("INSERT OR IGNORE INTO failed (user_id, reason) VALUES (?, ?)", r.userId, r.reason ?? null);
			}
			if (this.status() === "accepted") this.meta.set("status", "fanning_out");
			this.maybeDone();
		}
		return { recalled: this.status() === "recalled" };
	}

	/** Whether a job key was already recorded: a redelivered job can stop before doing anything. */
	hasJob(jobKey: string): boolean {
		return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE job_key = ?", jobKey).one().n > 0;
	}

	/**
	 * A shard's absolute counts for this message. The latest report of each shard wins (`rev` grows
	 * with every report of a shard): counts can drop when a growth moves users to another shard, and
	 * concurrent reports can arrive out of order.
	 */
	shardCounts(shard: string, counts: ShardCounts, rev: number): void {
		const row = this.sql.exec<{ counts: string }>("SELECT counts FROM shards WHERE name = ?", shard).toArray()[0];
		const prev = row ? (JSON.parse(row.counts) as ShardCounts & { rev?: number }) : undefined;
		if (prev && (prev.rev ?? 0) >= rev) return;
		this.sql.exec(
			"INSERT INTO shards (name, counts) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET counts = excluded.counts",
			shard,
			JSON.stringify({ ...counts, rev }),
		);
	}

	/** Marks the message recalled; true if it was not already. */
	recall(): boolean {
		if (this.status() === "recalled") return false;
		this.meta.set("status", "recalled");
		return true;
	}

	summary(): LedgerSummary {
		const sum = emptyCounts();
		for (const r of this.sql.exec<{ counts: string }>("SELECT counts FROM shards")) {
			const c = JSON.parse(r.counts) as ShardCounts;
			for (const f of COUNT_FIELDS) sum[f] += c[f];
		}
		const failed = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM failed").one().n;
		return {
			status: this.status(),
			counts: {
				targeted: sum.targeted + failed,
				delivered: sum.delivered,
				acked: sum.acked,
				opened: sum.opened,
				clicked: sum.clicked,
				failed,
				expired: sum.expired,
				capped: sum.capped,
				dropped: sum.dropped,
				by_channel: this.byChannel(),
			},
		};
	}

	/** Final vendor outcomes of one push job. A device's first final outcome stands. */
	recordVendor(channel: string, results: VendorResult[]): void {
		const now = Date.now();
		for (const r of results) {
			this.sql.exec(
				"INSERT OR IGNORE INTO vendor (user_id, device_id, channel, outcome, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
				r.userId,
				r.deviceId,
				channel,
				r.outcome,
				r.reason ?? null,
				now,
			);
		}
	}

	/** Each vendor device's outcome for one recipient. */
	vendorOutcomes(
		userId: string,
	): { device_id: string; channel: string; outcome: VendorOutcome; reason: string | null; at: string }[] {
		return this.sql
			.exec<{ device_id: string; channel: string; outcome: VendorOutcome; reason: string | null; at: number }>(
				"SELECT device_id, channel, outcome, reason, at FROM vendor WHERE user_id = ? ORDER BY channel, device_id",
				userId,
			)
			.toArray()
			.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
	}

	private byChannel(): ChannelCounts {
		const out: ChannelCounts = {};
		for (const r of this.sql.exec<{ channel: string; outcome: VendorOutcome; n: number }>(
			"SELECT channel, outcome, count(*) AS n FROM vendor GROUP BY channel, outcome",
		)) {
			const c = out[r.channel] ?? { sent: 0, failed: 0, invalid_token: 0 };
			c[r.outcome] = r.n;
			out[r.channel] = c;
		}
		return out;
	}

	/** A recipient the fan-out could not reach (their shard's view answers for everyone else). */
	recipient(userId: string): { status: RecipientStatus; reason: string | null } | null {
		const row = this.sql.exec<{ reason: string | null }>("SELECT reason FROM failed WHERE user_id = ?", userId).toArray()[0];
		return row ? { status: "failed", reason: row.reason } : null;
	}

	private maybeDone() {
		const expected = this.meta.get("expected_jobs");
		if (expected === undefined || this.status() === "recalled") return;
		const done = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM jobs").one().n;
		if (done >= Number(expected)) this.meta.set("status", "done");
	}

	private status(): MessageStatus {
		return (this.meta.get("status") as MessageStatus | undefined) ?? "accepted";
	}
}
