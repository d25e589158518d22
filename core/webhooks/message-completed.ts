import { findMessage, messageSummary } from "../messages/view.js";
import { errorText } from "../util/errors.js";
import { emitWebhookEvent } from "./emit.js";
import { wantsEvent } from "./endpoints-cache.js";

/**
 * `message.completed`: the message reached its final status: data has its id, status and
 * counts as they stand then (opens and clicks may still grow). Asks the cache first, so an app without
 * a subscriber pays nothing.
 */
export async function emitMessageCompleted(env: Env, appId: string, messageId: string): Promise<void> {
	try {
		if (!(await wantsEvent(env, appId, "message.completed"))) return;
		const row = await findMessage(env, appId, messageId);
		const { status, counts } = await messageSummary(env, row);
		await emitWebhookEvent(env, appId, "message.completed", { id: messageId, status, counts });
	} catch (err) {
		console.error(`webhook message.completed for ${messageId}: ${errorText(err)}`);
	}
}
