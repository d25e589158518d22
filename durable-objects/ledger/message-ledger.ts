import { DurableObject } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { db } from "../../core/db/client.js";
import { messages } from "../../core/db/schema.js";
import type { ResolveJob } from "../../core/fanout/jobs.js";
import { Ledger } from "../../core/ledger/ledger.js";
import type { JobResult, LedgerSummary, VendorResult } from "../../core/ledger/types.js";
import type { ShardCounts } from "../../core/shard/api.js";

/** A broadcast whose fan-out made no progress this long is driven again. */
export const REDRIVE_AFTER_MS = 30_000;

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

	async expectJobs(jobs: number): Promise<LedgerSummary> {
		const summary = this.ledger.expectJobs(jobs);
		await this.markDone();
		return summary;
	}

	async recordJob(jobKey: string, results: JobResult[], expectJobs?: number): Promise<{ recalled: boolean }> {
		const out = this.ledger.recordJob(jobKey, results, expectJobs);
		await this.markDone();
		return out;
	}

	override async alarm(): Promise<void> {
		await this.watch();
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

	recordVendor(channel: string, results: VendorResult[]): void {
		this.ledger.recordVendor(channel, results);
	}

	vendorOutcomes(userId: string): ReturnType<Ledger["vendorOutcomes"]> {
		return this.ledger.vendorOutcomes(userId);
	}

	recipient(userId: string): ReturnType<Ledger["recipient"]> {
		return this.ledger.recipient(userId);
	}
}
