import { DurableObject } from "cloudflare:workers";
import type { RecipientTally } from "../../core/inbox/types.js";
import type { ChannelCounts, JobResult, LedgerSummary, VendorOutcome, VendorResult } from "../../core/ledger/types.js";
import { META_SCHEMA, MetaTable } from "../../core/objects/meta.js";
import type { MessageCounts, MessageStatus, RecipientStatus } from "../../protocol/message.js";

/**
 * One message's status, exact counts and recipient list. Fan-out jobs report once per job of up to
 * 100 users and inboxes report state changes; both are idempotent (jobs by key, recipients as
 * absolute states), so queue retries and repeated flushes never count twice.
 */
const SCHEMA = `
${META_SCHEMA}
CREATE TABLE IF NOT EXISTS jobs (job_key TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recipients (
  user_id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  acked INTEGER NOT NULL DEFAULT 0,
  opened INTEGER NOT NULL DEFAULT 0,
  clicked INTEGER NOT NULL DEFAULT 0,
  reason TEXT
);
CREATE TABLE IF NOT EXISTS counts (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  targeted INTEGER NOT NULL DEFAULT 0, delivered INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0,
  opened INTEGER NOT NULL DEFAULT 0, clicked INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
  expired INTEGER NOT NULL DEFAULT 0, recalled INTEGER NOT NULL DEFAULT 0,
  capped INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO counts (id) VALUES (1);
-- Final vendor outcome per device: absolute, so a repeated report changes nothing.
CREATE TABLE IF NOT EXISTS vendor (
  user_id TEXT NOT NULL, device_id TEXT NOT NULL, channel TEXT NOT NULL,
  outcome TEXT NOT NULL, reason TEXT, at INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id, channel)
);
`;

interface RecipientRow {
	user_id: string;
	status: RecipientStatus;
	delivered: number;
	acked: number;
	opened: number;
	clicked: number;
	[key: string]: SqlStorageValue;
}

/** Terminal statuses win over progress; among progress states the furthest wins. */
const RANK: Record<RecipientStatus, number> = {
	queued: 0,
	delivered: 1,
	acked: 2,
	opened: 3,
	expired: 4,
	capped: 4,
	dropped: 4,
	failed: 5,
	recalled: 6,
};

export class MessageLedger extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	private readonly meta: MetaTable;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		this.sql.exec(SCHEMA);
		this.meta = new MetaTable(this.sql);
	}

	/** The resolver is paging the audience. */
	startFanout(): void {
		if (this.status() === "accepted") this.meta.set("status", "fanning_out");
	}

	/** The resolver reached the end of the audience: `jobs` deliver jobs in all. */
	expectJobs(jobs: number): LedgerSummary {
		this.meta.set("expected_jobs", String(jobs));
		this.maybeDone();
		return this.summary();
	}

	/**
	 * Records one deliver job's results. Returns whether the message was recalled meanwhile, so the
	 * job can take back what it just delivered.
	 */
	recordJob(jobKey: string, results: JobResult[], expectJobs?: number): { recalled: boolean } {
		if (expectJobs !== undefined) this.meta.set("expected_jobs", String(expectJobs));
		const fresh = this.sql.exec("INSERT OR IGNORE INTO jobs (job_key, at) VALUES (?, ?)", jobKey, Date.now()).rowsWritten > 0;
		if (fresh) {
			for (const r of results) {
				const status: RecipientStatus = r.outcome === "held" ? "queued" : r.outcome;
				this.apply(r.userId, { status, delivered: r.outcome === "delivered" ? 1 : 0 }, r.reason);
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

	/** An inbox's absolute view of one recipient. Monotonic: an old tally never undoes a newer one. */
	tally(t: RecipientTally): void {
		this.apply(t.userId, {
			status: t.status,
			delivered: t.deliveredAt !== null ? 1 : 0,
			acked: t.ackedAt !== null ? 1 : 0,
			opened: t.openedAt !== null ? 1 : 0,
			clicked: t.clickedAt !== null ? 1 : 0,
		});
	}

	/** Marks the message recalled; true if it was not already. */
	recall(): boolean {
		if (this.status() === "recalled") return false;
		this.meta.set("status", "recalled");
		return true;
	}

	summary(): LedgerSummary {
		const c = this.sql.exec<MessageCounts & Record<string, number>>("SELECT * FROM counts WHERE id = 1").one();
		return {
			status: this.status(),
			counts: {
				targeted: c.targeted,
				delivered: c.delivered,
				acked: c.acked,
				opened: c.opened,
				clicked: c.clicked,
				failed: c.failed,
				expired: c.expired,
				capped: c.capped,
				dropped: c.dropped,
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

	recipient(userId: string): { status: RecipientStatus; reason: string | null } | null {
		const row = this.sql
			.exec<{ status: RecipientStatus; reason: string | null }>("SELECT status, reason FROM recipients WHERE user_id = ?", userId)
			.toArray()[0];
		return row ?? null;
	}

	/** Recipients in id order, for recall fan-out. */
	recipientsPage(after: string, limit: number): string[] {
		return this.sql
			.exec<{ user_id: string }>("SELECT user_id FROM recipients WHERE user_id > ? ORDER BY user_id LIMIT ?", after, limit)
			.toArray()
			.map((r) => r.user_id);
	}

	private apply(
		userId: string,
		next: { status: RecipientStatus; delivered?: number; acked?: number; opened?: number; clicked?: number },
		reason?: string,
	) {
		const prev = this.sql.exec<RecipientRow>("SELECT * FROM recipients WHERE user_id = ?", userId).toArray()[0];
		const merged = {
			status: prev && RANK[prev.status] >= RANK[next.status] ? prev.status : next.status,
			delivered: Math.max(prev?.delivered ?? 0, next.delivered ?? 0),
			acked: Math.max(prev?.acked ?? 0, next.acked ?? 0),
			opened: Math.max(prev?.opened ?? 0, next.opened ?? 0),
			clicked: Math.max(prev?.clicked ?? 0, next.clicked ?? 0),
		};
		if (
			prev &&
			prev.status === merged.status &&
			prev.delivered === merged.delivered &&
			prev.acked === merged.acked &&
			prev.opened === merged.opened &&
			prev.clicked === merged.clicked
		) {
			return;
		}
		this.sql.exec(
			`INSERT INTO recipients (user_id, status, delivered, acked, opened, clicked, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, delivered = excluded.delivered, acked = excluded.acked,
			   opened = excluded.opened, clicked = excluded.clicked, reason = coalesce(excluded.reason, reason)`,
			userId,
			merged.status,
			merged.delivered,
			merged.acked,
			merged.opened,
			merged.clicked,
			reason ?? null,
		);
		const was = (s: RecipientStatus) => (prev?.status === s ? 1 : 0);
		const is = (s: RecipientStatus) => (merged.status === s ? 1 : 0);
		this.sql.exec(
			`UPDATE counts SET targeted = targeted + ?, delivered = delivered + ?, acked = acked + ?, opened = opened + ?,
			   clicked = clicked + ?, failed = failed + ?, expired = expired + ?, recalled = recalled + ?,
			   capped = capped + ?, dropped = dropped + ? WHERE id = 1`,
			prev ? 0 : 1,
			merged.delivered - (prev?.delivered ?? 0),
			merged.acked - (prev?.acked ?? 0),
			merged.opened - (prev?.opened ?? 0),
			merged.clicked - (prev?.clicked ?? 0),
			is("failed") - was("failed"),
			is("expired") - was("expired"),
			is("recalled") - was("recalled"),
			is("capped") - was("capped"),
			is("dropped") - was("dropped"),
		);
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
