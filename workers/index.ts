import { sweepEventIds } from "../core/automations/event-ids.js";
import type { DispatchJob } from "../core/dispatch/jobs.js";
import type { FanoutJob } from "../core/fanout/jobs.js";
import { sweepStalledBroadcasts } from "../core/fanout/watchdog.js";
import { sweepOverdue } from "../core/schedules/runner.js";
import type { WebhookJob } from "../core/webhooks/events.js";
import { pruneWebhookDeliveries } from "../core/webhooks/store.js";
import { createApp } from "./app.js";
import { handleDeadLetters, handleFanoutBatch } from "./queues/fanout.js";
import { handleVendorBatch, handleVendorDeadLetters } from "./queues/vendor.js";
import { handleWebhookBatch, handleWebhookDeadLetters } from "./queues/webhooks.js";

export { AutomationTimer } from "../durable-objects/automation-timer/automation-timer.js";
export { MessageLedger } from "../durable-objects/ledger/message-ledger.js";
export { AppMeter } from "../durable-objects/meter/app-meter.js";
export { ScheduleTimer } from "../durable-objects/schedule-timer/schedule-timer.js";
export { UserShard } from "../durable-objects/shard/user-shard.js";
export { VendorTokens } from "../durable-objects/vendor-tokens/vendor-tokens.js";

const app = createApp();

export default {
	fetch: app.fetch,
	async queue(batch, env, _ctx) {
		const dead = batch.queue.endsWith("-dlq");
		if (batch.queue.startsWith("warbler-webhooks")) {
			const jobs = batch as MessageBatch<WebhookJob>;
			return dead ? handleWebhookDeadLetters(jobs, env) : handleWebhookBatch(jobs, env);
		}
		if (batch.queue.startsWith("warbler-vendor")) {
			const jobs = batch as MessageBatch<DispatchJob>;
			return dead ? handleVendorDeadLetters(jobs, env) : handleVendorBatch(jobs, env);
		}
		const jobs = batch as MessageBatch<FanoutJob>;
		return dead ? handleDeadLetters(jobs, env) : handleFanoutBatch(jobs, env);
	},
	async scheduled(controller, env, _ctx) {
		// The minute cron is only the safety net: Durable Object alarms fire schedules on time.
		await sweepOverdue(env, controller.scheduledTime);
		await sweepStalledBroadcasts(env, controller.scheduledTime);
		await sweepEventIds(env.DB, controller.scheduledTime);
		await pruneWebhookDeliveries(env, controller.scheduledTime);
	},
} satisfies ExportedHandler<Env, FanoutJob | DispatchJob | WebhookJob>;
