// The Worker as `wrangler dev --test-scheduled` runs it (scripts/runtime.mjs bundles this file, not
// workers/index.ts): GET /__scheduled?cron=<expr> runs the scheduled handler, as wrangler's middleware does.
import worker from "../workers/index.ts";

export * from "../workers/index.ts";

export default {
	...worker,
	async fetch(request, env, ctx) {
		const url = new URL(request.url);
		if (url.pathname !== "/__scheduled") return worker.fetch(request, env, ctx);
		const controller = { cron: url.searchParams.get("cron") ?? "", scheduledTime: Date.now(), noRetry() {} };
		await worker.scheduled(controller, env, ctx);
		return new Response("Ran scheduled event");
	},
};
