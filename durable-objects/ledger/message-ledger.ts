import { DurableObject } from "cloudflare:workers";
import { Ledger } from "../../core/ledger/ledger.js";
import type { JobResult, LedgerSummary, VendorResult } from "../../core/ledger/types.js";
import type { ShardCounts } from "../../core/shard/api.js";

/** One message's status and exact counts (core/ledger/ledger.ts), one object per message. */
export class MessageLedger extends DurableObject<Env> {
	private readonly ledger: Ledger;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.ledger = new Ledger(ctx.storage.sql);
	}

	startFanout(): void {
		this.ledger.startFanout();
	}

	expectJobs(jobs: number): LedgerSummary {
		return this.ledger.expectJobs(jobs);
	}

	recordJob(jobKey: string, results: JobResult[], expectJobs?: number): { recalled: boolean } {
		return this.ledger.recordJob(jobKey, results, expectJobs);
	}

	hasJob(jobKey: string): boolean {
		return this.ledger.hasJob(jobKey);
	}

	shardCounts(shard: string, counts: ShardCounts): void {
		this.ledger.shardCounts(shard, counts);
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
