import type { MessageStatus, RecipientStatus } from "../../protocol/message.js";
import { sha256, toBase64Url } from "../auth/crypto.js";
import type { ResolveJob } from "../fanout/jobs.js";
import { META_SCHEMA, MetaTable } from "../objects/meta.js";
import { emptyCounts, type ShardCounts } from "../shard/api.js";
import type { ChannelCounts, JobResult, LedgerSummary, ReceiptUpdate, VendorOutcome, VendorResult } from "./types.js";

/**
 * One broadcast's status and exact counts. Shards report absolute counts of their recipients
 * (summed here; a repeated or late report never counts twice, and a shard restarted from an older
 * flush never takes a count back); fan-out jobs report once per job key, with the recipients whose
 * shard could not be reached.
 */
const SCHEMA = `
${META_SCHEMA}
CREATE TABLE IF NOT EXISTS jobs (job_key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shards (name TEXT PRIMARY KEY, counts TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failed (user_id TEXT PRIMARY KEY, reason TEXT) WITHOUT ROWID;
-- Final vendor outcome per device: absolute, so a repeated report changes nothing. WITHOUT ROWID:
-- one B-tree per row written instead of a table and its key's index (ledgers made before keep theirs).
CREATE TABLE IF NOT EXISTS vendor (
  user_id TEXT NOT NULL, device_id TEXT NOT NULL, channel TEXT NOT NULL,
  outcome TEXT NOT NULL, reason TEXT, at INTEGER NOT NULL,
  token TEXT, delivered_at INTEGER, clicked_at INTEGER,
  PRIMARY KEY (user_id, device_id, channel)
) WITHOUT ROWID;
-- Devices a push job sent to without a receipt to wait for: one row per job, not per device (a
-- broadcast to a million devices writes a thousand rows, not a million). \`devices\` is a JSON array
-- of [user_id, device_id]; lo/hi bound its user ids, so one recipient's outcomes are a range lookup.
CREATE TABLE IF NOT EXISTS vendor_sent (
  key TEXT PRIMARY KEY, channel TEXT NOT NULL, lo TEXT NOT NULL, hi TEXT NOT NULL,
  n INTEGER NOT NULL, at INTEGER NOT NULL, devices TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vendor_sent_range ON vendor_sent (lo, hi);
`;

const COUNT_FIELDS = ["targeted", "delivered", "acked", "opened", "clicked", "expired", "recalled", "capped", "dropped"] as const;

/**
 * Everything about the message but its tables, as one row: each operation writes it at most once
 * (a broadcast costs its ledger about four rows plus one per shard report, whatever its size).
 */
interface LedgerState {
	status: MessageStatus;
	/** Broadcasts: the job that starts the fan-out, kept for re-drives. */
	resolve?: ResolveJob;
	quietMs?: number;
	/** Last progress seen by the watchdog (jobs recorded since count as progress too). */
	progressAt?: number;
	expectedJobs?: number;
	redrives?: number;
	doneRecorded?: boolean;
	/** Its vendor outcomes and failures changed this many times; `statsCopied` of them are in D1 (statistics). */
	statsRev?: number;
	statsCopied?: number;
}

/** The ledger's part of a message's counts, as statistics read it (D1 `message_ledger_stats`). */
export interface LedgerStatsCopy {
	rev: number;
	failed: number;
	byChannel: ChannelCounts;
}

/** One vendor device's outcome for a recipient (the recipients listing and the device view). */
export interface VendorDeviceOutcome {
	device_id: string;
	channel: string;
	outcome: VendorOutcome;
	reason: string | null;
	at: string;
	delivered_at?: string;
	clicked_at?: string;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A device sent to without a receipt to wait for: recorded in its job's row, not a row of its own. */
const inJobRow = (r: VendorResult) => r.outcome === "sent" && !r.token;

/** A push job's sent devices as its ledger row holds them (see jobRow()). */
export interface JobRow {
	/** Digest of `devices`: the same job reported again gives the same key. */
	key: string;
	/** JSON array of [user_id, device_id]. */
	devices: string;
	lo: string;
	hi: string;
	n: number;
}

/**
 * The row a vendor report's sent devices go into, undefined when it has none. The key is a SHA-256
 * (base64url) of exactly the stored text, through WebCrypto: asynchronous, so the caller makes it
 * before the ledger's synchronous write. A JavaScript hash over a 1,000-device list cost up to 4 ms
 * of CPU per job in workerd (measured), more than the row write.
 */
async function jobRow(results: readonly VendorResult[]): Promise<JobRow | undefined> {
	const sent = results.filter(inJobRow);
	if (sent.length === 0) return undefined;
	const devices = JSON.stringify(sent.map((r) => [r.userId, r.deviceId]));
	let lo = sent[0]!.userId;
	let hi = lo;
	for (const r of sent) {
		if (r.userId < lo) lo = r.userId;
		if (r.userId > hi) hi = r.userId;
	}
	return { key: toBase64Url(await sha256(devices)), devices, lo, hi, n: sent.length };
}

/**
 * One vendor job's outcomes as the ledger stores them: the sent devices already in their job row,
 * the rest (failures, receipt-tracked sends) as they are. Made by the caller, so a 1,000-device job
 * crosses into the ledger's Durable Object as one string instead of 1,000 objects to copy.
 */
export interface VendorReport {
	row?: JobRow;
	single: VendorResult[];
}

export async function vendorReport(results: readonly VendorResult[]): Promise<VendorReport> {
	const row = await jobRow(results);
	const single = results.filter((r) => !inJobRow(r));
	return row ? { row, single } : { single };
}

export class Ledger {
	private readonly sql: SqlStorage;
	private readonly meta: MetaTable;
	private readonly state: LedgerState;

	constructor(sql: SqlStorage) {
		this.sql = sql;
		this.sql.exec(SCHEMA);
		this.meta = new MetaTable(this.sql);
		this.receiptColumns();
		const stored = this.meta.get("state");
		this.state = stored ? (JSON.parse(stored) as LedgerState) : this.legacyState();
	}

	/**
	 * Vendor receipts (core/receipts/) need the token pushed to and when it arrived / was clicked, on
	 * the same row as the outcome: no extra write per device. Ledgers created before get the columns
	 * (a schema read on each start, no write once they exist).
	 */
	private receiptColumns(): void {
		const have = new Set(
			this.sql
				.exec<{ name: string }>("SELECT name FROM pragma_table_info('vendor')")
				.toArray()
				.map((r) => r.name),
		);
		for (const [col, type] of [
			["token", "TEXT"],
			["delivered_at", "INTEGER"],
			["clicked_at", "INTEGER"],
		] as const) {
			if (!have.has(col)) this.sql.exec(`ALTER TABLE vendor ADD COLUMN ${col} ${type}`);
		}
		this.sql.exec("CREATE INDEX IF NOT EXISTS vendor_token ON vendor (channel, token) WHERE token IS NOT NULL");
	}

	/** A ledger written before its state was one row (local data from earlier 0.2 builds). */
	private legacyState(): LedgerState {
		const m = (k: string) => this.meta.get(k);
		const num = (k: string) => (m(k) === undefined ? undefined : Number(m(k)));
		const resolve = m("resolve");
		return {
			status: (m("status") as MessageStatus | undefined) ?? "accepted",
			...(resolve ? { resolve: JSON.parse(resolve) as ResolveJob } : {}),
			quietMs: num("quiet_ms"),
			progressAt: num("progress_at"),
			expectedJobs: num("expected_jobs"),
			redrives: num("redrives"),
			doneRecorded: m("done_recorded") === "1",
		};
	}

	private save(): void {
		this.meta.set("state", JSON.stringify(this.state));
	}

	/**
	 * A broadcast was accepted: the resolve job that starts its fan-out is kept, so that a fan-out
	 * that stops (a crash, a lost queue message) can be driven again until every shard has it.
	 */
	begin(resolve: ResolveJob, now: number, quietMs: number): void {
		Object.assign(this.state, { resolve, progressAt: now, quietMs });
		this.save();
	}

	/** How long the fan-out may go without progress before it is driven again. */
	quietMs(fallback: number): number {
		return this.state.quietMs ?? fallback;
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
		const { resolve, status } = this.state;
		if (!resolve || status === "done" || status === "recalled") return { action: "stop" };
		const lastJob = this.sql.exec<{ at: number | null }>("SELECT max(at) AS at FROM jobs").one().at ?? 0;
		const progressAt = Math.max(this.state.progressAt ?? 0, lastJob);
		if (now - progressAt < quietMs) return { action: "wait", until: progressAt + quietMs };
		this.state.progressAt = now;
		this.state.redrives = (this.state.redrives ?? 0) + 1;
		this.save();
		return { action: "redrive", job: resolve };
	}

	/** The resolver is paging the audience. */
	startFanout(): void {
		if (this.state.status === "accepted") this.state.status = "fanning_out";
		this.state.progressAt = Date.now();
		this.save();
	}

	isDone(): boolean {
		return this.state.status === "done";
	}

	resolveJob(): ResolveJob | undefined {
		return this.state.resolve;
	}

	doneRecorded(): boolean {
		return this.state.doneRecorded === true;
	}

	recordDone(): void {
		this.state.doneRecorded = true;
		this.save();
	}

	/** The resolver reached the end of the audience: `jobs` deliver jobs in all. */
	expectJobs(jobs: number): void {
		this.state.expectedJobs = jobs;
		this.maybeDone();
		this.save();
	}

	/**
	 * Records one deliver job (once per key): its recipients whose shard stayed unreachable count as
	 * failed. Returns whether the message was recalled meanwhile. The job's row is its progress.
	 */
	recordJob(jobKey: string, results: JobResult[], expectJobs?: number): { recalled: boolean } {
		const before = JSON.stringify(this.state);
		if (expectJobs !== undefined) this.state.expectedJobs = expectJobs;
		const fresh = this.sql.exec("INSERT OR IGNORE INTO jobs (job_key, at) VALUES (?, ?)", jobKey, Date.now()).rowsWritten > 0;
		if (fresh) {
			let failed = 0;
			for (const r of results) {
				if (r.outcome !== "failed") continue;
				failed += this.sql.exec(
					"INSERT OR IGNORE INTO failed (user_id, reason) VALUES (?, ?)",
					r.userId,
					r.reason ?? null,
				).rowsWritten;
			}
			if (failed > 0) this.state.statsRev = (this.state.statsRev ?? 0) + 1;
			if (this.state.status === "accepted") this.state.status = "fanning_out";
			this.maybeDone();
		}
		if (JSON.stringify(this.state) !== before) this.save();
		return { recalled: this.state.status === "recalled" };
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
		if (this.state.status === "recalled") return false;
		this.state.status = "recalled";
		this.save();
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

	/**
	 * Final vendor outcomes of one push job. A device's first final outcome stands, and a repeated
	 * report of the same job changes nothing. True if anything was new.
	 *
	 * Devices sent to without a token to keep (no receipts on their channel) go into one row for the
	 * whole job; everything else (failures, receipt-tracked sends) gets a row per device, in one
	 * statement. Per-device rows cost about 6.5 ms of CPU per 1,000 and a billed row write each.
	 */
	recordVendor(channel: string, { row, single }: VendorReport): boolean {
		const now = Date.now();
		let fresh = row ? this.recordSent(channel, row, now) : 0;
		if (single.length) {
			const rows = single.map((r) => [r.userId, r.deviceId, r.outcome, r.reason ?? null, r.token ?? null]);
			fresh += this.sql.exec(
				`INSERT OR IGNORE INTO vendor (user_id, device_id, channel, outcome, reason, at, token)
				 SELECT value->>0, value->>1, ?, value->>2, value->>3, ?, value->>4 FROM json_each(?)`,
				channel,
				now,
				JSON.stringify(rows),
			).rowsWritten;
		}
		if (fresh === 0) return false;
		this.state.statsRev = (this.state.statsRev ?? 0) + 1;
		this.save();
		return true;
	}

	/** One job's sent devices as one row; a repeated report of the job has the same key and writes nothing. */
	private recordSent(channel: string, row: JobRow, now: number): number {
		return this.sql.exec(
			"INSERT OR IGNORE INTO vendor_sent (key, channel, lo, hi, n, at, devices) VALUES (?, ?, ?, ?, ?, ?, ?)",
			`${channel}:${row.n}:${row.key}`,
			channel,
			row.lo,
			row.hi,
			row.n,
			now,
			row.devices,
		).rowsWritten;
	}

	/**
	 * Vendor receipts of this message's devices on one channel (one call per receipt post). A device's
	 * first arrival / click stands, so a repeated receipt changes nothing; a click implies arrival.
	 * Tokens this message was not pushed to are ignored. Returns how many rows changed.
	 */
	recordReceipts(channel: string, receipts: ReceiptUpdate[]): number {
		let changed = 0;
		for (const r of receipts) {
			if (r.kind === "clicked") {
				changed += this.sql.exec(
					"UPDATE vendor SET clicked_at = ? WHERE channel = ? AND token = ? AND outcome = 'sent' AND clicked_at IS NULL",
					r.at,
					channel,
					r.token,
				).rowsWritten;
			}
			changed += this.sql.exec(
				"UPDATE vendor SET delivered_at = ? WHERE channel = ? AND token = ? AND outcome = 'sent' AND delivered_at IS NULL",
				r.at,
				channel,
				r.token,
			).rowsWritten;
		}
		if (changed > 0) {
			this.state.statsRev = (this.state.statsRev ?? 0) + 1;
			this.save();
		}
		return changed;
	}

	/** Whether statistics have not seen the latest vendor outcomes and failures (no query). */
	statsPending(): boolean {
		return (this.state.statsRev ?? 0) > (this.state.statsCopied ?? 0);
	}

	/** What statistics have not seen yet, if anything. */
	statsCopy(): LedgerStatsCopy | null {
		const rev = this.state.statsRev ?? 0;
		if (!this.statsPending()) return null;
		const failed = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM failed").one().n;
		return { rev, failed, byChannel: this.byChannel() };
	}

	statsCopied(rev: number): void {
		if (rev <= (this.state.statsCopied ?? 0)) return;
		this.state.statsCopied = rev;
		this.save();
	}

	/** Each vendor device's outcome for one recipient. */
	vendorOutcomes(userId: string, blobs = new Map<string, [string, string][]>()): VendorDeviceOutcome[] {
		const out: VendorDeviceOutcome[] = this.sql
			.exec<{
				device_id: string;
				channel: string;
				outcome: VendorOutcome;
				reason: string | null;
				at: number;
				delivered_at: number | null;
				clicked_at: number | null;
			}>("SELECT device_id, channel, outcome, reason, at, delivered_at, clicked_at FROM vendor WHERE user_id = ?", userId)
			.toArray()
			.map(({ delivered_at, clicked_at, ...r }) => ({
				...r,
				at: new Date(r.at).toISOString(),
				...(delivered_at !== null ? { delivered_at: new Date(delivered_at).toISOString() } : {}),
				...(clicked_at !== null ? { clicked_at: new Date(clicked_at).toISOString() } : {}),
			}));
		const seen = new Set(out.map((o) => `${o.channel}\n${o.device_id}`));
		for (const job of this.sql.exec<{ key: string; channel: string; at: number }>(
			"SELECT key, channel, at FROM vendor_sent WHERE lo <= ? AND hi >= ? ORDER BY at, key",
			userId,
			userId,
		)) {
			let devices = blobs.get(job.key);
			if (!devices) {
				const row = this.sql.exec<{ devices: string }>("SELECT devices FROM vendor_sent WHERE key = ?", job.key).one();
				devices = JSON.parse(row.devices) as [string, string][];
				blobs.set(job.key, devices);
			}
			for (const [u, deviceId] of devices) {
				// The first final outcome of a device stands, as for per-device rows.
				if (u !== userId || seen.has(`${job.channel}\n${deviceId}`)) continue;
				seen.add(`${job.channel}\n${deviceId}`);
				out.push({
					device_id: deviceId,
					channel: job.channel,
					outcome: "sent",
					reason: null,
					at: new Date(job.at).toISOString(),
				});
			}
		}
		return out.sort((a, b) => (a.channel === b.channel ? cmp(a.device_id, b.device_id) : cmp(a.channel, b.channel)));
	}

	private byChannel(): ChannelCounts {
		const out: ChannelCounts = {};
		for (const r of this.sql.exec<{ channel: string; outcome: VendorOutcome; n: number }>(
			`SELECT channel, outcome, count(*) AS n FROM vendor GROUP BY channel, outcome
			 UNION ALL SELECT channel, 'sent', sum(n) FROM vendor_sent GROUP BY channel`,
		)) {
			const c = out[r.channel] ?? { sent: 0, failed: 0, invalid_token: 0, quota_exceeded: 0 };
			c[r.outcome] += r.n;
			out[r.channel] = c;
		}
		// Receipts: only channels that had any, so counts without receipts keep their shape.
		for (const r of this.sql.exec<{ channel: string; d: number; k: number }>(
			"SELECT channel, count(delivered_at) AS d, count(clicked_at) AS k FROM vendor WHERE delivered_at IS NOT NULL GROUP BY channel",
		)) {
			const c = out[r.channel];
			if (!c) continue;
			c.delivered = r.d;
			c.clicked = r.k;
		}
		return out;
	}

	/** Vendor outcomes of several recipients at once (a page of the recipients listing). */
	vendorOutcomesOf(userIds: readonly string[]): Record<string, VendorDeviceOutcome[]> {
		const out: Record<string, VendorDeviceOutcome[]> = {};
		// Neighbouring recipients share their jobs' rows: each is parsed once per page.
		const blobs = new Map<string, [string, string][]>();
		for (const u of userIds) {
			const devices = this.vendorOutcomes(u, blobs);
			if (devices.length) out[u] = devices;
		}
		return out;
	}

	/** Which of these users the fan-out could not reach. */
	failedAmong(userIds: readonly string[]): string[] {
		return userIds.filter((u) => this.recipient(u) !== null);
	}

	/** Recipients the fan-out could not reach, by user id, from `offset` (the end of a recipients listing). */
	failedPage(offset: number, limit: number): { user_id: string; reason: string | null }[] {
		return this.sql
			.exec<{ user_id: string; reason: string | null }>(
				"SELECT user_id, reason FROM failed ORDER BY user_id LIMIT ? OFFSET ?",
				limit,
				offset,
			)
			.toArray();
	}

	/** A recipient the fan-out could not reach (their shard's view answers for everyone else). */
	recipient(userId: string): { status: RecipientStatus; reason: string | null } | null {
		const row = this.sql.exec<{ reason: string | null }>("SELECT reason FROM failed WHERE user_id = ?", userId).toArray()[0];
		return row ? { status: "failed", reason: row.reason } : null;
	}

	/** Done once every expected job is recorded (the caller saves the state). */
	private maybeDone() {
		const expected = this.state.expectedJobs;
		if (expected === undefined || this.state.status === "recalled") return;
		const done = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM jobs").one().n;
		if (done >= expected) this.state.status = "done";
	}

	/** The message's status alone: cheap (no count sums), for senders that only ask "recalled?". */
	status(): MessageStatus {
		return this.state.status;
	}
}
