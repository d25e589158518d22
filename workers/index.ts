import { createApp } from "./app.js";
import { handleDeadLetters, handleFanoutBatch } from "./fanout/consumer.js";
import type { FanoutJob } from "./fanout/jobs.js";

export { UserInbox } from "../durable-objects/inbox/user-inbox.js";
export { MessageLedger } from "../durable-objects/ledger/message-ledger.js";

const app = createApp();

export default {
	fetch: app.fetch,
	async queue(batch, env) {
		if (batch.queue.endsWith("-dlq")) return handleDeadLetters(batch, env);
		return handleFanoutBatch(batch, env);
	},
	async scheduled() {
		// The minute cron is the safety net for timed pushes (scheduling issue); nothing is due yet.
	},
} satisfies ExportedHandler<Env, FanoutJob>;
