/**
 * Vendor receipts the way the vendors post them (formats and sources: core/receipts/parse.ts), a
 * short while after a push they accepted, like a device reporting arrival:
 *
 * - OPPO: to the message's `notification.call_back_url`, a JSON array of
 *   `{messageId, appId, taskId, registrationIds, eventTime, param, eventType: "push_arrive"}`.
 * - HMS: to the URL set in AppGallery Connect (here: `PUT /__sim/receipts/hms {url}`), for messages
 *   with `android.bi_tag`, `{"statuses": [{biTag, appid, token, status: 0, timestamp, requestId}]}`.
 * - Xiaomi: to the push's `extra.callback`, form-encoded `data` = JSON
 *   `{"<xiaomi msg id>": {param, type: 1, targets: "regId1,regId2", jobkey, barStatus, timestamp}}`.
 * - Meizu: to the notification's `extra.callback` (the URL registered in the Flyme console),
 *   form-encoded `cb` = JSON `{"<msgId>-1": {param, type: 1, targets: [pushId…]}}` and `access_token`.
 * - vivo: to a single push's `extra.callback`, JSON `{"<taskId>": {param, targets: "regId",
 *   ackTime, ackType: "0"}}` (vivo has receipts for `/message/send` only, none for pushToList).
 *
 * A `no_receipt` fault (`POST /__sim/faults`) makes the matching push send none. Posts that fail are
 * counted in the stats (`receipt_failures`), never retried.
 */
import type { SimContext } from "./context.ts";
import { sleep } from "./http.ts";

export const RECEIPT_DELAY_MS = 150;

/** `body` is posted as JSON, or form-encoded when it is a URLSearchParams (Xiaomi, Meizu). */
export function postReceipt(
	ctx: SimContext,
	channel: "oppo" | "hms" | "xiaomi" | "meizu" | "vivo",
	url: string,
	body: unknown,
): void {
	void (async () => {
		await sleep(RECEIPT_DELAY_MS);
		const stats = ctx.state.stats[channel];
		const form = body instanceof URLSearchParams;
		try {
			const res = await fetch(url, {
				method: "POST",
				headers: { "content-type": form ? "application/x-www-form-urlencoded" : "application/json" },
				body: form ? body.toString() : JSON.stringify(body),
			});
			await res.arrayBuffer();
			if (res.ok) stats.receipts_sent = (stats.receipts_sent ?? 0) + 1;
			else stats.receipt_failures = (stats.receipt_failures ?? 0) + 1;
		} catch {
			stats.receipt_failures = (stats.receipt_failures ?? 0) + 1;
		}
	})();
}
