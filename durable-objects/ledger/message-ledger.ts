import { DurableObject } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { db } from "../../core/db/client.js";
import { messageLedgerStats, messages } from "../../core/db/schema.js";
import type { ResolveJob } from "../../core/fanout/jobs.js";
import { Ledger, type VendorReport, vendorReport } from "../../core/ledger/ledger.js";
import type { JobResult, LedgerSummary, ReceiptUpdate, VendorResult } from "../../core/ledger/types.js";
import type { ShardCounts } from "../../core/shard/api.js";
import { emitMessageCompleted } from "../../core/webhooks/message-completed.js";
import type { MessageStatus } from "../../protocol/message.js";

/** A broadcast whose fan-out made no progress this long is driven again. */
export const REDRIVE_AFTER_MS = 30_000;
/** Vendor outcomes and failures reach the statistics this long after they change (one D1 write per batch). */
export const STATS_COPY_MS = 2_000;

/**
 * One message's status and exact counts (core/ledger/ledger.ts), one object per message, and the
 * watchdog of a broadcast's fan-out: its alarm re-drives a fan-out that stopped, until it is done.
 */
export class MessageLedger extends DurableObject<Env> {
	private readonly ledger: Ledger;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.ledger = new Ledger(ctx.storage.sql);
	}

	/** A broadcast was accepted: keep its resolve job and watch its fan-out. */
	async begin(resolve: ResolveJob, quietMs = REDRIVE_AFTER_MS): Promise<void> {
		this.ledger.begin(resolve, Date.now(), quietMs);
		await this.ctx.storage.setAlarm(Date.now() + quietMs);
	}

	/** The minute cron's safety net: a fan-out that stalled is driven again now (alarms are the precise path). */
	async sweep(): Promise<boolean> {
		return this.watch();
	}

	startFanout(): void {
		this.ledger.startFanout();
	}

	async expectJobs(jobs: number): Promise<void> {
		const wasDone = this.ledger.isDone();
		this.ledger.expectJobs(jobs);
		await this.markDone();
		this.completedIf(wasDone);
	}

	async recordJob(jobKey: string, results: JobResult[], expectJobs?: number): Promise<{ recalled: boolean }> {
		const wasDone = this.ledger.isDone();
		const out = this.ledger.recordJob(jobKey, results, expectJobs);
		await this.markDone();
		this.completedIf(wasDone);
		await this.statsSoon();
		return out;
	}

	override async alarm(): Promise<void> {
		try {
			await this.copyStats();
		} catch (err) {
			console.error(`ledger ${this.ctx.id.name ?? ""}: statistics copy failed, retrying: ${String(err)}`);
		}
		await this.watch();
		await this.statsSoon();
	}

	/** An alarm soon if statistics have something to copy (an earlier alarm stays). */
	private async statsSoon(): Promise<void> {
		if (!this.ledger.statsPending()) return;
		const due = Date.now() + STATS_COPY_MS;
		const at = await this.ctx.storage.getAlarm();
		if (at === null || at > due) await this.ctx.storage.setAlarm(due);
	}

	/**
	 * Copies the ledger's counts to D1 for statistics: absolute with a revision, so a repeated or
	 * late copy never counts twice and an older one never overwrites a newer one.
	 */
	private async copyStats(): Promise<void> {
		const copy = this.ledger.statsCopy();
		const key = this.messageKey();
		if (!copy || !key) return;
		await db(this.env)
			.insert(messageLedgerStats)
			.values({ ...key, rev: copy.rev, failed: copy.failed, byChannel: copy.byChannel })
			.onConflictDoUpdate({
				target: [messageLedgerStats.appId, messageLedgerStats.messageId],
				set: { rev: copy.rev, failed: copy.failed, byChannel: copy.byChannel },
				setWhere: sql`${messageLedgerStats.rev} < ${copy.rev}`,
			});
		this.ledger.statsCopied(copy.rev);
	}

	/** The message just reached its final status: `message.completed` webhooks, after this call answers. */
	private completedIf(wasDone: boolean): void {
		const key = this.messageKey();
		if (wasDone || !this.ledger.isDone() || !key) return;
		this.ctx.waitUntil(emitMessageCompleted(this.env, key.appId, key.messageId));
	}

	/** Which message this ledger is for: its object name is `${appId}/${messageId}` (core/objects/ledger.ts). */
	private messageKey(): { appId: string; messageId: string } | undefined {
		const name = this.ctx.id.name;
		const slash = name?.lastIndexOf("/") ?? -1;
		if (!name || slash < 0) return undefined;
		return { appId: name.slice(0, slash), messageId: name.slice(slash + 1) };
	}

	/** Re-drives a stalled fan-out; true if it sent the resolve job again. */
	private async watch(): Promise<boolean> {
		const quietMs = this.ledger.quietMs(REDRIVE_AFTER_MS);
		const step = this.ledger.watchdog(Date.now(), quietMs);
		if (step.action === "stop") {
			await this.markDone();
			return false;
		}
		if (step.action === "wait") {
			await this.ctx.storage.setAlarm(step.until);
			return false;
		}
		await this.env.FANOUT.send(step.job);
		await this.ctx.storage.setAlarm(Date.now() + quietMs);
		return true;
	}

	/** Once every shard has it, D1 records the fan-out's end (the cron sweep looks for those without one). */
	private async markDone() {
		const resolve = this.ledger.resolveJob();
		if (!resolve || !this.ledger.isDone() || this.ledger.doneRecorded()) return;
		await db(this.env)
			.update(messages)
			.set({ fanoutDoneAt: new Date().toISOString() })
			.where(and(eq(messages.appId, resolve.appId), eq(messages.id, resolve.messageId)));
		this.ledger.recordDone();
	}

	hasJob(jobKey: string): boolean {
		return this.ledger.hasJob(jobKey);
	}

	shardCounts(shard: string, counts: ShardCounts, rev: number): void {
		this.ledger.shardCounts(shard, counts, rev);
	}

	recall(): boolean {
		return this.ledger.recall();
	}

	summary(): LedgerSummary {
		return this.ledger.summary();
	}

	/** Status only: a vendor job asks this before each send, and must not sum every count to learn it. */
	status(): MessageStatus {
		return this.ledger.status();
	}

	async recordVendor(channel: string, results: VendorResult[]): Promise<void> {
		await this.recordVendorReport(channel, await vendorReport(results));
	}

	/** recordVendor() with the report made by the caller (workers/queues/vendor.ts: big jobs). */
	async recordVendorReport(channel: string, report: VendorReport): Promise<void> {
		if (this.ledger.recordVendor(channel, report)) await this.statsSoon();
	}

	/** Vendor receipts of one post for this message (workers/routes/receipts.ts). */
	async recordReceipts(channel: string, receipts: ReceiptUpdate[]): Promise<number> {
		const changed = this.ledger.recordReceipts(channel, receipts);
		if (changed > 0) await this.statsSoon();
		return changed;
	}

	vendorOutcomes(userId: string): ReturnType<Ledger["vendorOutcomes"]> {
		return this.ledger.vendorOutcomes(userId);
	}

	vendorOutcomesOf(userIds: string[]): ReturnType<Ledger["vendorOutcomesOf"]> {
		return this.ledger.vendorOutcomesOf(userIds);
	}

	failedAmong(userIds: string[]): string[] {
		return this.ledger.failedAmong(userIds);
	}

	failedPage(offset: number, limit: number): ReturnType<Ledger["failedPage"]> {
		return this.ledger.failedPage(offset, limit);
	}

	recipient(userId: string): ReturnType<Ledger["recipient"]> {
		return this.ledger.recipient(userId);
	}
}
