/**
 * What usage needs from a shard's connections, kept without per-delivery work: the users who said
 * hello in each UTC month (monthly active users: one row the first time a user connects in a month)
 * and the day's peak of ready sockets (held in memory, written at the shard's flush).
 */
const SCHEMA = [
	"CREATE TABLE IF NOT EXISTS active_users (month TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (month, user_id)) WITHOUT ROWID",
	"CREATE TABLE IF NOT EXISTS peak_sockets (day TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
];
/** Months of active users kept: a year back, for usage of past months. */
const KEEP_MONTHS = 13;
/** How often the open-socket count is recounted from the runtime (a close the shard never heard of). */
const RECOUNT_MS = 60_000;

export interface ShardActivityMonth {
	mau: number;
	/** Peak ready sockets per day (YYYY-MM-DD). */
	peaks: Record<string, number>;
}

export class ShardActivity {
	/** `month|user` already written in this object's life: a reconnect costs a set lookup. */
	private readonly seen = new Set<string>();
	private readonly peaks = new Map<string, number>();
	private readonly dirtyPeaks = new Set<string>();
	private open: number;
	private countedAt: number;
	/** Once per month and object life: rows of months past `KEEP_MONTHS` go. */
	private prunedBefore = "";

	constructor(
		private readonly sql: SqlStorage,
		private readonly countReady: () => number,
	) {
		for (const s of SCHEMA) sql.exec(s);
		this.open = countReady();
		this.countedAt = Date.now();
	}

	/** A socket became ready (hello). */
	hello(userId: string, now: number): void {
		const month = new Date(now).toISOString().slice(0, 7);
		const key = `${month}|${userId}`;
		if (!this.seen.has(key)) {
			this.seen.add(key);
			this.sql.exec("INSERT INTO active_users (month, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", month, userId);
		}
		this.open++;
		this.notePeak(now);
	}

	/** A ready socket closed. */
	closed(): void {
		this.open = Math.max(0, this.open - 1);
	}

	/** Writes the day's peak if it grew; recounts sockets now and then; forgets old months. */
	flush(now: number): void {
		if (now - this.countedAt > RECOUNT_MS) {
			this.open = this.countReady();
			this.countedAt = now;
		}
		for (const day of this.dirtyPeaks) {
			this.sql.exec(
				"INSERT INTO peak_sockets (day, n) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET n = max(n, excluded.n)",
				day,
				this.peaks.get(day) ?? 0,
			);
		}
		this.dirtyPeaks.clear();
		const d = new Date(now);
		const cutoff = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - KEEP_MONTHS, 1)).toISOString().slice(0, 7);
		if (cutoff !== this.prunedBefore) {
			this.sql.exec("DELETE FROM active_users WHERE month < ?", cutoff);
			this.sql.exec("DELETE FROM peak_sockets WHERE day < ?", `${cutoff}-01`);
			this.prunedBefore = cutoff;
		}
	}

	month(month: string): ShardActivityMonth {
		const mau = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM active_users WHERE month = ?", month).one().n;
		const peaks: Record<string, number> = {};
		for (const r of this.sql.exec<{ day: string; n: number }>(
			"SELECT day, n FROM peak_sockets WHERE day >= ? AND day < ?",
			`${month}-01`,
			`${month}-32`,
		)) {
			peaks[r.day] = r.n;
		}
		for (const [day, n] of this.peaks) if (day.startsWith(month)) peaks[day] = Math.max(peaks[day] ?? 0, n);
		return { mau, peaks };
	}

	private notePeak(now: number): void {
		const day = new Date(now).toISOString().slice(0, 10);
		if (this.open > (this.peaks.get(day) ?? 0)) {
			this.peaks.set(day, this.open);
			this.dirtyPeaks.add(day);
		}
	}
}
