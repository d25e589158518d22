import { createApp } from "./app.js";
import { handleVendorBatch, handleVendorDeadLetters } from "./dispatch/consumer.js";
import type { DispatchJob } from "./dispatch/jobs.js";
import { handleDeadLetters, handleFanoutBatch } from "./fanout/consumer.js";
import type { FanoutJob } from "./fanout/jobs.js";

export { UserInbox } from "../durable-objects/inbox/user-inbox.js";
export { MessageLedger } from "../durable-objects/ledger/message-ledger.js";
export { VendorTokens } from "../durable-objects/vendor-tokens/vendor-tokens.js";

const app = createApp();

export default {
	fetch: app.fetch,
	async queue(batch, env, _ctx) {
		const dead = batch.queue.endsWith("-dlq");
		if (batch.queue.startsWith("warbler-vendor")) {
			const jobs = batch as MessageBatch<DispatchJob>;
			return dead ? handleVendorDeadLetters(jobs, env) : handleVendorBatch(jobs, env);
		}
		const jobs = batch as MessageBatch<FanoutJob>;
		return dead ? handleDeadLetters(jobs, env) : handleFanoutBatch(jobs, env);
	},
	async scheduled() {
		// The minute cron is the safety net for timed pushes (scheduling issue); nothing is due yet.
	},
} satisfies ExportedHandler<Env, FanoutJob | DispatchJob>;
