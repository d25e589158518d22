import { db } from "../db/client.js";
import { AppError } from "../errors.js";
import { type AutomationEvent, sendAutomation } from "./send.js";
import { findAutomation } from "./store.js";
import { type IngestResult, PendingJson, type TimerItem, type TimerTrigger } from "./timer.js";

interface PendingRow {
	automation_id: string;
	event_id: string;
	event_name: string;
	event_time: number;
	properties: string | null;
	message: string;
	cancel_on: string;
	once_per: number | null;
	due_at: number;
	attempts: number;
	[key: string]: SqlStorageValue;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pending (
	automation_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	event_name TEXT NOT NULL,
	event_time INTEGER NOT NULL,
	properties TEXT,
	message TEXT NOT NULL,
	cancel_on TEXT NOT NULL,
	once_per INTEGER,
	due_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (automation_id, event_id)
);
CREATE INDEX IF NOT EXISTS pending_due ON pending (due_at);
CREATE TABLE IF NOT EXISTS fired (automation_id TEXT PRIMARY KEY, fired_at INTEGER NOT NULL, event_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cancels (name TEXT NOT NULL, at INTEGER NOT NULL, event_id TEXT NOT NULL, PRIMARY KEY (name, event_id));
CREATE INDEX IF NOT EXISTS cancels_at ON cancels (name, at);
`;

/** A cancelling event is remembered this long, for trigger events that arrive after it but happened before it. */
const CANCEL_MEMORY_MS = 31 * 24 * 3600_000;
const MAX_ATTEMPTS = 6;
const BATCH = 50;

/**
 * One per app + user: the automation runs of that user that wait (a delay, `cancel_on`) or must be
 * rationed (`once_per_user_within_seconds`). Everything is in SQLite, so waiting sends, the last
 * fire per automation and recent cancelling events survive restarts and evictions.
 *
 * - A trigger is stored as a pending send due at event time + delay; the alarm is always set to the
 *   earliest due send and fires it through `acceptMessage` with the trigger's idempotency key
 *   (automation + user + event), so a retried alarm, or a send whose row removal was lost, never
 *   sends twice (within accept's 24 h idempotency window).
 * - A cancelling event drops every pending send of automations listing its name that was triggered
 *   at or before it and not due before it. It is also remembered, so a trigger event that happened
 *   before it but arrives after it (a late batch) is dropped on arrival.
 * - Once per user: a trigger within the window after the automation's last send (by event time), or
 *   while one of its sends is already waiting, is ignored.
 * - When a send is due the automation is re-read from D1: a deleted or disabled one sends nothing.
 */
export class AutomationRuns {
	private readonly sql: SqlStorage;
	private running: Promise<number> = Promise.resolve(0);
	private owner?: { appId: string; userId: string };

	constructor(
		private readonly ctx: DurableObjectState,
		private readonly env: Env,
	) {
		this.sql = ctx.storage.sql;
		this.sql.exec(SCHEMA);
	}

	/** Records events of this user, in event-time order: cancels first, then the runs each one starts. */
	async ingest(appId: string, userId: string, items: TimerItem[]): Promise<IngestResult> {
		await this.remember(appId, userId);
		const out: IngestResult = { triggered: 0, canceled: 0, suppressed: 0 };
		const sorted = [...items].sort((a, b) => a.event.time - b.event.time);
		for (const { event, triggers, cancels } of sorted) {
			if (cancels) out.canceled += this.cancelBy(event);
			for (const t of triggers) {
				if (this.admit(event, t)) out.triggered++;
				else out.suppressed++;
			}
		}
		// Runs already due (no delay, or an old event) go out before the answer; the rest wait for the alarm.
		await this.fireDue();
		return out;
	}

	/** Waiting sends, for tests and diagnostics. */
	pending(): { automationId: string; eventId: string; dueAt: number; attempts: number }[] {
		return this.sql
			.exec<PendingRow>("SELECT * FROM pending ORDER BY due_at")
			.toArray()
			.map((r) => ({ automationId: r.automation_id, eventId: r.event_id, dueAt: r.due_at, attempts: r.attempts }));
	}

	async alarm(): Promise<void> {
		await this.fireDue();
	}

	/** The user was deleted: nothing waiting for them is sent (it would bring their inbox back). */
	async forget(): Promise<number> {
		const dropped = this.sql.exec("DELETE FROM pending").rowsWritten;
		this.sql.exec("DELETE FROM fired; DELETE FROM cancels;");
		await this.ctx.storage.deleteAlarm();
		return dropped;
	}

	// ---- internals -----------------------------------------------------------------------------

	private async remember(appId: string, userId: string) {
		if (this.owner) return;
		const stored = await this.ctx.storage.get<string>("appId");
		if (!stored) await this.ctx.storage.put({ appId, userId });
		this.owner = { appId, userId };
	}

	private async whose(): Promise<{ appId: string; userId: string } | undefined> {
		if (this.owner) return this.owner;
		const appId = await this.ctx.storage.get<string>("appId");
		const userId = await this.ctx.storage.get<string>("userId");
		if (appId && userId) this.owner = { appId, userId };
		return this.owner;
	}

	private cancelBy(event: AutomationEvent): number {
		const cur = this.sql.exec(
			`DELETE FROM pending WHERE event_time <= ? AND due_at >= ? AND event_id != ?
			 AND EXISTS (SELECT 1 FROM json_each(pending.cancel_on) WHERE value = ?)`,
			event.time,
			event.time,
			event.id,
			event.name,
		);
		const canceled = cur.rowsWritten;
		this.sql.exec("INSERT OR IGNORE INTO cancels (name, at, event_id) VALUES (?, ?, ?)", event.name, event.time, event.id);
		this.sql.exec("DELETE FROM cancels WHERE name = ? AND at < ?", event.name, Date.now() - CANCEL_MEMORY_MS);
		return canceled;
	}

	private admit(event: AutomationEvent, t: TimerTrigger): boolean {
		const dueAt = event.time + t.delaySeconds * 1000;
		if (t.oncePerSeconds !== null) {
			const last = this.sql
				.exec<{ event_time: number }>("SELECT event_time FROM fired WHERE automation_id = ?", t.automationId)
				.toArray()[0];
			if (last && event.time < last.event_time + t.oncePerSeconds * 1000) return false;
			const waiting = this.sql.exec("SELECT 1 FROM pending WHERE automation_id = ? LIMIT 1", t.automationId).toArray();
			if (waiting.length > 0) return false;
		}
		if (t.cancelOn.length > 0) {
			// A cancelling event that happened after this one (and before its send) already arrived.
			const canceled = this.sql
				.exec(
					`SELECT 1 FROM cancels WHERE name IN (SELECT value FROM json_each(?)) AND at >= ? AND at <= ? AND event_id != ? LIMIT 1`,
					JSON.stringify(t.cancelOn),
					event.time,
					dueAt,
					event.id,
				)
				.toArray();
			if (canceled.length > 0) return false;
		}
		const cur = this.sql.exec(
			`INSERT OR IGNORE INTO pending (automation_id, event_id, event_name, event_time, properties, message, cancel_on, once_per, due_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.automationId,
			event.id,
			event.name,
			event.time,
			event.properties === undefined ? null : PendingJson.properties.stringify(event.properties),
			PendingJson.message.stringify(t.message),
			PendingJson.cancelOn.stringify(t.cancelOn),
			t.oncePerSeconds,
			dueAt,
		);
		return cur.rowsWritten > 0;
	}

	/** Sends everything due, one pass at a time (alarm and ingest never fire the same row concurrently), then re-arms. */
	private fireDue(): Promise<number> {
		const run = this.running.then(
			() => this.fireDueNow(),
			() => this.fireDueNow(),
		);
		this.running = run;
		return run;
	}

	private async fireDueNow(): Promise<number> {
		const owner = await this.whose();
		let sent = 0;
		if (owner) {
			for (;;) {
				const now = Date.now();
				const rows = this.sql
					.exec<PendingRow>("SELECT * FROM pending WHERE due_at <= ? ORDER BY due_at LIMIT ?", now, BATCH)
					.toArray();
				for (const row of rows) if (await this.fire(owner, row, now)) sent++;
				if (rows.length < BATCH) break;
			}
		}
		const next = this.sql.exec<{ d: number | null }>("SELECT MIN(due_at) AS d FROM pending").one().d;
		if (next === null) await this.ctx.storage.deleteAlarm();
		else await this.ctx.storage.setAlarm(next);
		return sent;
	}

	private async fire(owner: { appId: string; userId: string }, row: PendingRow, now: number): Promise<boolean> {
		const drop = () =>
			this.sql.exec("DELETE FROM pending WHERE automation_id = ? AND event_id = ?", row.automation_id, row.event_id);
		try {
			const automation = await findAutomation(db(this.env), owner.appId, row.automation_id);
			if (!automation?.enabled) {
				drop();
				return false;
			}
			if (row.once_per !== null) {
				const last = this.sql
					.exec<{ event_time: number }>("SELECT event_time FROM fired WHERE automation_id = ?", row.automation_id)
					.toArray()[0];
				if (last && row.event_time < last.event_time + row.once_per * 1000) {
					drop();
					return false;
				}
			}
			const event: AutomationEvent = {
				id: row.event_id,
				userId: owner.userId,
				name: row.event_name,
				time: row.event_time,
				...(row.properties === null ? {} : { properties: PendingJson.properties.parse(row.properties) }),
			};
			await sendAutomation(this.env, owner.appId, row.automation_id, event, PendingJson.message.parse(row.message));
			drop();
			this.sql.exec(
				`INSERT INTO fired (automation_id, fired_at, event_time) VALUES (?, ?, ?)
				 ON CONFLICT (automation_id) DO UPDATE SET fired_at = excluded.fired_at, event_time = excluded.event_time`,
				row.automation_id,
				now,
				row.event_time,
			);
			return true;
		} catch (err) {
			if (err instanceof AppError) {
				// Refused for good (e.g. over a vendor's payload limit): retrying cannot help.
				console.error(`automation ${row.automation_id} event ${row.event_id}: ${err.code} ${err.message}`);
				drop();
				return false;
			}
			const attempts = row.attempts + 1;
			if (attempts >= MAX_ATTEMPTS) {
				console.error(`automation ${row.automation_id} event ${row.event_id}: dropped after ${attempts} attempts`, String(err));
				drop();
			} else {
				this.sql.exec(
					"UPDATE pending SET attempts = ?, due_at = ? WHERE automation_id = ? AND event_id = ?",
					attempts,
					now + Math.min(2 ** attempts * 1000, 60_000),
					row.automation_id,
					row.event_id,
				);
			}
			return false;
		}
	}
}
