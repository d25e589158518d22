import type { ShardCounts } from "./api.js";
import type { MovedUser, ShardSnapshot } from "./growth.js";
import type { EntryBody, UserRecord } from "./model.js";
import { newUserRecord, setDevice } from "./model.js";
import { addCounts, type HourStats } from "./stats.js";

/**
 * A shard's SQLite storage and its in-memory image. Rows are written only here, and only as:
 * one INSERT per entry (a message's part in this shard), one UPDATE per entry that changed since the
 * last flush, one upsert per hot array that changed, one upsert per dirty chunk of 256 users, and
 * one DELETE per entry past its retention. Nothing is written per recipient.
 */
export const SHARD_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, keep_until INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hot (k TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked (user_id TEXT PRIMARY KEY, before INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS exports (child INTEGER NOT NULL, part INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (child, part)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stat_hours (hour INTEGER NOT NULL, cat TEXT NOT NULL, counts TEXT NOT NULL, PRIMARY KEY (hour, cat)) WITHOUT ROWID;
`;

/** A snapshot handed to a child shard is stored in rows of at most this many characters. */
const EXPORT_ROW_CHARS = 512 * 1024;

export const CHUNK_USERS = 256;
/** How long a recipient's receipt outlives its message: idempotency and the recipient view. */
export const RECEIPT_GRACE_MS = 7 * 24 * 3600 * 1000;

/** Entry keys sort by message, then part: every part of a message is one range of the primary key. */
export function entryKey(messageId: string, part: number): string {
	return `${messageId}#${String(part).padStart(6, "0")}`;
}

type Hot = "seq" | "delivered" | "acked" | "device";

export class ShardStore {
	/** Users by number; `uidOf` maps user ids to their current number. */
	readonly users: (UserRecord | undefined)[] = [];
	readonly uidOf = new Map<string, number>();
	private readonly hot: Record<Hot, Uint32Array> = {
		seq: new Uint32Array(CHUNK_USERS),
		delivered: new Uint32Array(CHUNK_USERS),
		acked: new Uint32Array(CHUNK_USERS),
		device: new Uint32Array(CHUNK_USERS),
	};
	private retiresAt: number | undefined | null = null;
	/** The next device number; numbers of removed devices are not reused. */
	private nextDevice = 0;
	private deviceCountDirty = false;
	private readonly dirtyHot = new Set<Hot>();
	/** Chunks to write at the next flush, and chunks whose only change can wait for the lazy flush. */
	private readonly dirtyChunks = new Set<number>();
	private readonly lazyChunks = new Set<number>();
	/**
	 * Each user's record as its chunk row holds it, kept until the record is touched again: a chunk
	 * write joins 256 strings instead of serialising 256 records. A first connect writes its user's
	 * chunk at once, so without this every new device re-serialised up to 255 other users (about
	 * 13 % of a first connect's CPU, measured). Every change to a record is followed by touch() or
	 * touchLazily(), which is also what gets it written at all.
	 */
	private readonly userJson: (string | undefined)[] = [];
	private readonly dirtyEntries = new Map<string, EntryBody>();
	/** Client tokens minted before this time (epoch ms) are refused, per user; kept after an erase. */
	private readonly revocations = new Map<string, number>();
	/** Counters for row budgets (tests) and the benchmark's cost model. */
	readonly counters = {
		/** SQLite rows written (billed), as SQLite counts them. */
		rowsWritten: 0,
		entriesWritten: 0,
		entryUpdates: 0,
		hotWrites: 0,
		chunkWrites: 0,
		entriesDeleted: 0,
		setAlarm: 0,
	};

	constructor(private readonly sql: SqlStorage) {
		sql.exec(SHARD_SCHEMA);
		for (const row of sql.exec<{ k: string; data: ArrayBuffer }>("SELECT k, data FROM hot")) {
			const k = row.k as Hot;
			if (k in this.hot) this.hot[k] = new Uint32Array(row.data.slice(0));
		}
		for (const row of sql.exec<{ chunk: number; data: string }>("SELECT chunk, data FROM chunks")) {
			const records = JSON.parse(row.data) as (UserRecord | null)[];
			records.forEach((r, i) => {
				if (!r) return;
				const uid = row.chunk * CHUNK_USERS + i;
				this.users[uid] = r;
				if (!r.gone) this.uidOf.set(r.id, uid);
			});
		}
		for (const r of sql.exec<{ user_id: string; before: number }>("SELECT user_id, before FROM revoked")) {
			this.revocations.set(r.user_id, r.before);
		}
		this.nextDevice = Math.max(this.nextDevice, Number(this.meta("next_device") ?? "0"));
		for (const u of this.users) {
			for (const [n] of Object.values(u?.dev ?? {})) this.nextDevice = Math.max(this.nextDevice, n + 1);
		}
	}

	/** Every write goes through here, so that rows written are counted where they happen. */
	private write(query: string, ...args: SqlStorageValue[]): number {
		const cursor = this.sql.exec(query, ...args);
		cursor.toArray();
		this.counters.rowsWritten += cursor.rowsWritten;
		return cursor.rowsWritten;
	}

	// ---- meta ------------------------------------------------------------------------------------

	meta(k: string): string | undefined {
		return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v;
	}

	setMeta(k: string, v: string): void {
		this.write("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v);
	}

	// ---- users -----------------------------------------------------------------------------------

	/** The user's number, creating the user on first sight. */
	ensureUser(id: string): number {
		const known = this.uidOf.get(id);
		if (known !== undefined) return known;
		const uid = this.users.length;
		this.users.push(newUserRecord(id));
		this.uidOf.set(id, uid);
		this.growHot(uid + 1);
		this.touch(uid);
		return uid;
	}

	user(uid: number): UserRecord | undefined {
		return this.users[uid];
	}

	/** An erased user's number is retired: old entries that name it no longer reach anybody. */
	retire(uid: number): void {
		const u = this.users[uid];
		if (!u) return;
		if (Object.keys(u.dev).length > 0) this.devicesRemoved();
		this.users[uid] = { ...u, gone: 1, dev: {}, gaps: [], skip: [], rcl: [], sends: [], eng: {}, dlog: [], alog: [] };
		this.uidOf.delete(u.id);
		this.touch(uid);
	}

	/**
	 * Users handed over by the parent shard: new numbers, their positions, their devices renumbered
	 * (the device count is written once for all of them, not once per device).
	 */
	adoptUsers(moved: MovedUser[]): number[] {
		const uids = moved.map((m) => {
			const uid = this.ensureUser(m.record.id);
			const record: UserRecord = { ...m.record, dev: {} };
			for (const [deviceId, [, seen]] of Object.entries(m.record.dev)) {
				const acked = Object.hasOwn(m.devices, deviceId) ? (m.devices[deviceId] ?? 0) : 0;
				setDevice(record, deviceId, [this.newDevice(acked), seen]);
			}
			this.users[uid] = record;
			this.set("seq", uid, m.seq);
			this.set("delivered", uid, m.delivered);
			this.set("acked", uid, m.acked);
			this.touch(uid);
			return uid;
		});
		this.setMeta("next_device", String(this.nextDevice));
		return uids;
	}

	/** The user's chunk is written at the next flush. */
	touch(uid: number): void {
		this.userJson[uid] = undefined;
		this.dirtyChunks.add(Math.floor(uid / CHUNK_USERS));
	}

	/** The user's chunk is written within the lazy window (timestamps, engagement, last seen). */
	touchLazily(uid: number): void {
		this.userJson[uid] = undefined;
		this.lazyChunks.add(Math.floor(uid / CHUNK_USERS));
	}

	/**
	 * A number for a new device (its acked position starts at `acked`). The count is not written here:
	 * a device's number is in its user's chunk row, written with it, and the constructor takes the
	 * count from the numbers it finds. Only a removed device's number must be remembered apart
	 * (devicesRemoved()), so that it is never given again. Saves a row write per first connect.
	 */
	newDevice(acked: number): number {
		const n = this.nextDevice++;
		this.growArray("device", n + 1);
		this.hot.device[n] = acked;
		this.dirtyHot.add("device");
		return n;
	}

	/** Devices left their user's record: the count goes into meta with the next write of the chunks. */
	devicesRemoved(): void {
		this.deviceCountDirty = true;
	}

	private writeDeviceCount() {
		if (!this.deviceCountDirty) return;
		this.setMeta("next_device", String(this.nextDevice));
		this.deviceCountDirty = false;
	}

	get(k: Hot, uid: number): number {
		return this.hot[k][uid] ?? 0;
	}

	set(k: Hot, uid: number, v: number): void {
		if (k === "device") this.growArray(k, uid + 1);
		else this.growHot(uid + 1);
		if (this.hot[k][uid] === v) return;
		this.hot[k][uid] = v;
		this.dirtyHot.add(k);
	}

	private growHot(n: number) {
		for (const k of ["seq", "delivered", "acked"] as const) this.growArray(k, n);
	}

	private growArray(k: Hot, n: number) {
		const a = this.hot[k];
		if (a.length >= n) return;
		const grown = new Uint32Array(Math.max(n, a.length * 2));
		grown.set(a);
		this.hot[k] = grown;
	}

	// ---- entries ---------------------------------------------------------------------------------

	insertEntry(e: EntryBody): void {
		this.write(
			"INSERT INTO entries (key, expires_at, keep_until, body) VALUES (?, ?, ?, ?)",
			entryKey(e.m, e.p),
			e.x,
			e.x + RECEIPT_GRACE_MS,
			JSON.stringify(e),
		);
		if (this.retiresAt !== null) this.retiresAt = Math.min(this.retiresAt ?? Number.POSITIVE_INFINITY, e.x + RECEIPT_GRACE_MS);
		this.counters.entriesWritten++;
	}

	/** The entry is rewritten at the next flush. */
	changed(e: EntryBody): void {
		this.dirtyEntries.set(entryKey(e.m, e.p), e);
	}

	findEntry(messageId: string, part: number): EntryBody | undefined {
		const row = this.sql.exec<{ body: string }>("SELECT body FROM entries WHERE key = ?", entryKey(messageId, part)).toArray()[0];
		return row ? (JSON.parse(row.body) as EntryBody) : undefined;
	}

	/** Every stored part of a message (one range of the primary key). */
	entriesOf(messageId: string): EntryBody[] {
		return this.sql
			.exec<{ body: string }>("SELECT body FROM entries WHERE key > ? AND key < ?", `${messageId}#`, `${messageId}#~`)
			.toArray()
			.map((r) => JSON.parse(r.body) as EntryBody);
	}

	/** Entries that expire after `after`: the ones a restarted shard must hold in memory. */
	entriesExpiringAfter(after: number): EntryBody[] {
		return this.sql
			.exec<{ body: string }>("SELECT body FROM entries WHERE expires_at > ?", after)
			.toArray()
			.map((r) => JSON.parse(r.body) as EntryBody);
	}

	/** Every stored entry (growth hands a range of users over with their entries). */
	allEntries(): EntryBody[] {
		return this.sql
			.exec<{ body: string }>("SELECT body FROM entries")
			.toArray()
			.map((r) => JSON.parse(r.body) as EntryBody);
	}

	/** Stored entries whose keys fall in [lo, hi): messages accepted in a time window (ids sort by time). */
	entriesBetween(lo: string, hi: string): EntryBody[] {
		return this.sql
			.exec<{ body: string }>("SELECT body FROM entries WHERE key >= ? AND key < ?", lo, hi)
			.toArray()
			.map((r) => JSON.parse(r.body) as EntryBody);
	}

	/** The entries that the next `deleteRetiredEntries(now)` removes. */
	retiringEntries(now: number): EntryBody[] {
		return this.sql
			.exec<{ body: string }>("SELECT body FROM entries WHERE keep_until <= ?", now)
			.toArray()
			.map((r) => JSON.parse(r.body) as EntryBody);
	}

	/** Adds retiring entries' final counts to the hours they belong to: one row per (hour, category). */
	foldStats(rows: HourStats[]): void {
		for (const r of rows) {
			const prior = this.sql
				.exec<{ counts: string }>("SELECT counts FROM stat_hours WHERE hour = ? AND cat = ?", r.hour, r.cat)
				.toArray()[0];
			const counts = { ...r.counts };
			if (prior) addCounts(counts, JSON.parse(prior.counts) as ShardCounts);
			this.write(
				"INSERT INTO stat_hours (hour, cat, counts) VALUES (?, ?, ?) ON CONFLICT (hour, cat) DO UPDATE SET counts = excluded.counts",
				r.hour,
				r.cat,
				JSON.stringify(counts),
			);
		}
	}

	/** Folded hours in [from, to). */
	foldedStats(from: number, to: number): HourStats[] {
		return this.sql
			.exec<{ hour: number; cat: string; counts: string }>(
				"SELECT hour, cat, counts FROM stat_hours WHERE hour >= ? AND hour < ?",
				from,
				to,
			)
			.toArray()
			.map((r) => ({ hour: r.hour, cat: r.cat, counts: JSON.parse(r.counts) as ShardCounts }));
	}

	deleteRetiredEntries(now: number): void {
		this.counters.entriesDeleted += this.write("DELETE FROM entries WHERE keep_until <= ?", now);
		this.retiresAt = null;
	}

	/** When the oldest stored entry retires (kept in memory: it is asked on every operation). */
	nextRetirement(): number | undefined {
		if (this.retiresAt === null) {
			this.retiresAt = this.sql.exec<{ t: number | null }>("SELECT min(keep_until) AS t FROM entries").one().t ?? undefined;
		}
		return this.retiresAt;
	}

	// ---- flush -----------------------------------------------------------------------------------

	get dirty(): boolean {
		return this.dirtyHot.size > 0 || this.dirtyChunks.size > 0 || this.dirtyEntries.size > 0;
	}

	/** Rewrites one entry now (a change that must not wait for the flush). */
	writeEntry(e: EntryBody): void {
		const key = entryKey(e.m, e.p);
		this.write("UPDATE entries SET body = ? WHERE key = ?", JSON.stringify(e), key);
		this.dirtyEntries.delete(key);
		this.counters.entryUpdates++;
	}

	get lazyDirty(): boolean {
		return this.lazyChunks.size > 0;
	}

	/**
	 * Writes, now, the user changes that later reads depend on (new devices, gaps, collapses,
	 * recalls, cap history): called at the end of every operation, so a restart never loses them.
	 */
	flushUrgent(): void {
		const chunks = [...this.dirtyChunks];
		this.dirtyChunks.clear();
		for (const c of chunks) this.writeChunk(c);
		this.writeDeviceCount();
	}

	/** Writes one hot array now. */
	flushHot(k: Hot): void {
		if (!this.dirtyHot.has(k)) return;
		this.writeHot(k);
		this.dirtyHot.delete(k);
	}

	private writeHot(k: Hot) {
		const a = this.hot[k].subarray(0, k === "device" ? this.nextDevice : this.users.length);
		this.write(
			"INSERT INTO hot (k, data) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET data = excluded.data",
			k,
			new Uint32Array(a).buffer as ArrayBuffer,
		);
		this.counters.hotWrites++;
	}

	/** Writes what changed; with `lazy`, also the chunks whose changes could wait. */
	flush(lazy: boolean): void {
		for (const [key, e] of this.dirtyEntries) {
			this.write("UPDATE entries SET body = ? WHERE key = ?", JSON.stringify(e), key);
			this.counters.entryUpdates++;
		}
		this.dirtyEntries.clear();
		for (const k of this.dirtyHot) this.writeHot(k);
		this.dirtyHot.clear();
		const chunks = new Set(this.dirtyChunks);
		if (lazy) for (const c of this.lazyChunks) chunks.add(c);
		this.dirtyChunks.clear();
		for (const c of chunks) this.writeChunk(c);
		this.writeDeviceCount();
	}

	private writeChunk(c: number) {
		const parts: string[] = [];
		const end = Math.min(this.users.length, (c + 1) * CHUNK_USERS);
		for (let uid = c * CHUNK_USERS; uid < end; uid++) {
			let json = this.userJson[uid];
			if (json === undefined) {
				json = JSON.stringify(this.users[uid] ?? null);
				this.userJson[uid] = json;
			}
			parts.push(json);
		}
		this.write(
			"INSERT INTO chunks (chunk, data) VALUES (?, ?) ON CONFLICT (chunk) DO UPDATE SET data = excluded.data",
			c,
			`[${parts.join(",")}]`,
		);
		this.counters.chunkWrites++;
		this.lazyChunks.delete(c);
	}

	// ---- client-token revocations -----------------------------------------------------------------

	/** Refuses the user's tokens minted before `before` (written now: one row). */
	revoke(userId: string, before: number): void {
		if ((this.revocations.get(userId) ?? 0) >= before) return;
		this.revocations.set(userId, before);
		this.write(
			"INSERT INTO revoked (user_id, before) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET before = excluded.before",
			userId,
			before,
		);
	}

	revokedBefore(userId: string): number {
		return this.revocations.get(userId) ?? 0;
	}

	revocationEntries(): IterableIterator<[string, number]> {
		return this.revocations.entries();
	}

	// ---- growth ----------------------------------------------------------------------------------

	/** Keeps the snapshot handed to a child until the child has stored it. */
	saveExport(child: number, snapshot: ShardSnapshot): void {
		const data = JSON.stringify(snapshot);
		for (let part = 0; part * EXPORT_ROW_CHARS < data.length || part === 0; part++) {
			const slice = data.slice(part * EXPORT_ROW_CHARS, (part + 1) * EXPORT_ROW_CHARS);
			this.write("INSERT INTO exports (child, part, data) VALUES (?, ?, ?)", child, part, slice);
		}
	}

	loadExport(child: number): ShardSnapshot | undefined {
		const rows = this.sql.exec<{ data: string }>("SELECT data FROM exports WHERE child = ? ORDER BY part", child).toArray();
		return rows.length ? (JSON.parse(rows.map((r) => r.data).join("")) as ShardSnapshot) : undefined;
	}

	dropExport(child: number): void {
		this.write("DELETE FROM exports WHERE child = ?", child);
	}

	/** Erases everything (tests and whole-shard resets). */
	clearAll(): void {
		this.sql.exec(
			"DELETE FROM entries; DELETE FROM hot; DELETE FROM chunks; DELETE FROM meta; DELETE FROM exports; DELETE FROM revoked; DELETE FROM stat_hours;",
		);
		this.revocations.clear();
	}
}
