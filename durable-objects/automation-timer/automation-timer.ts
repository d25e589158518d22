import { DurableObject } from "cloudflare:workers";
import { AutomationRuns } from "../../core/automations/runs.js";
import type { IngestResult, TimerItem } from "../../core/automations/timer.js";

/** One per app + user: the automation runs of that user that wait or are rationed (core/automations/runs.ts). */
export class AutomationTimer extends DurableObject<Env> {
	private readonly runs: AutomationRuns;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.runs = new AutomationRuns(ctx, env);
	}

	ingest(appId: string, userId: string, items: TimerItem[]): Promise<IngestResult> {
		return this.runs.ingest(appId, userId, items);
	}

	/** Waiting sends, for tests and diagnostics. */
	pending(): ReturnType<AutomationRuns["pending"]> {
		return this.runs.pending();
	}

	/** The user was deleted: their waiting sends are dropped. */
	forget(): Promise<number> {
		return this.runs.forget();
	}

	override alarm(): Promise<void> {
		return this.runs.alarm();
	}
}
