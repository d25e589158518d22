import { DurableObject } from "cloudflare:workers";
import { refreshExternal } from "../../core/metering/activity.js";
import { EXTERNAL_MAX_AGE_MS, MeterState, type QuotaNotice } from "../../core/metering/meter-state.js";
import { monthOf } from "../../core/metering/period.js";
import type { AdmitInput, AdmitResult, MeterDay } from "../../core/metering/types.js";
import { emitWebhookEvent } from "../../core/webhooks/emit.js";

/** Counts wait in memory this long before one write (the object's alarm). */
const FLUSH_AFTER_MS = 1_000;

/**
 * One per app (core/objects/meter.ts): the API's rate limits and the app's usage counters, shared by
 * every isolate. Each API request is one call here (admit), which both decides the rate limits and
 * counts the request; a send also counts its message against the monthly quota in the same call.
 */
export class AppMeter extends DurableObject<Env> {
	private readonly state: MeterState;
	private refreshing: Promise<void> | undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.state = new MeterState(ctx.storage.sql);
	}

	async admit(input: AdmitInput): Promise<AdmitResult> {
		const month = monthOf(input.now);
		const send = input.send;
		const watchesExternal = send && (send.deliveriesMax !== undefined || send.mauMax !== undefined);
		const external = watchesExternal ? this.state.external(month) : undefined;
		if (watchesExternal && (!external || external.at < input.now - EXTERNAL_MAX_AGE_MS)) {
			this.refresh(input.appId, month, { mau: send.mauMax, deliveries_per_month: send.deliveriesMax });
		}
		const result = this.state.admit(input, external);
		if (send) {
			const notices: QuotaNotice[] = [];
			if (send.messagesMax !== undefined) {
				const used = this.state.messagesThisMonth(input.now);
				notices.push(...this.state.notices("messages_per_month", used, send.messagesMax, month));
			}
			if (!result.ok && result.reason === "quota_exceeded") {
				notices.push(...this.state.notices(result.limit, result.used, result.max, month));
			}
			this.notify(input.appId, notices);
		}
		await this.scheduleFlush();
		return result;
	}

	/** Requests and messages an isolate counted for an app whose plan decides nothing (batched). */
	async count(now: number, api: number, messages: number): Promise<void> {
		this.state.count(now, api, messages);
		await this.scheduleFlush();
	}

	/** Takes back messages counted by admit that were not accepted (a 4xx, a replay, a failure). */
	async refund(now: number, messages: number): Promise<void> {
		this.state.refund(now, messages);
		await this.scheduleFlush();
	}

	/** Per-day API requests and accepted messages of a month. */
	async days(month: string): Promise<MeterDay[]> {
		return this.state.days(month);
	}

	/** An object limit (schedules, automations, …) is at `used` of `max`: notices due, once each. */
	async noteTotal(appId: string, limit: string, used: number, max: number): Promise<void> {
		// The period names the maximum: a new plan's limit warns again.
		this.notify(appId, this.state.notices(limit, used, max, `total:${max}`));
	}

	/** MAU and deliveries of a month as last read (quota checks), refreshed now when asked. */
	async externalUsage(appId: string, month: string, limits: { mau?: number; deliveries_per_month?: number }) {
		this.refresh(appId, month, limits);
		await this.refreshing;
		return this.state.external(month);
	}

	override async alarm(): Promise<void> {
		this.state.flush();
	}

	private async scheduleFlush(): Promise<void> {
		if (!this.state.dirty) return;
		if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + FLUSH_AFTER_MS);
	}

	/** Reads MAU and deliveries again, in the background, one read at a time. */
	private refresh(appId: string, month: string, limits: { mau?: number; deliveries_per_month?: number }): void {
		if (this.refreshing) return;
		this.refreshing = (async () => {
			try {
				const usage = await refreshExternal(this.env, appId, month);
				this.state.setExternal(month, usage, Date.now());
				const notices: QuotaNotice[] = [];
				if (limits.mau !== undefined) notices.push(...this.state.notices("mau", usage.mau, limits.mau, month));
				if (limits.deliveries_per_month !== undefined) {
					notices.push(...this.state.notices("deliveries_per_month", usage.deliveries, limits.deliveries_per_month, month));
				}
				this.notify(appId, notices);
			} catch (err) {
				console.error(`meter refresh for ${appId} failed: ${err instanceof Error ? err.message : String(err)}`);
			} finally {
				this.refreshing = undefined;
			}
		})();
		this.ctx.waitUntil(this.refreshing);
	}

	private notify(appId: string, notices: QuotaNotice[]): void {
		for (const n of notices) {
			this.ctx.waitUntil(
				emitWebhookEvent(this.env, appId, n.type, { limit: n.limit, used: n.used, max: n.max, period: n.period }),
			);
		}
	}
}
