import type { MessageContent } from "../../../protocol/message.js";
import { channelIdFor, messageClass, oppoVivoCategory } from "../category.js";
import {
	alertText,
	customData,
	deepMerge,
	hash32,
	imageUrlOf,
	jsonSize,
	passthroughOf,
	truncateChars,
	ttlSeconds,
} from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";
import type { OppoCredentials } from "./credentials.js";

/** OPPO "消息体内容定义": title ≤ 50 characters, sub_title ≤ 10, content ≤ 200; off_line_ttl ≤ 10 days. */
const MAX_TITLE_CHARS = 50;
const MAX_CONTENT_CHARS = 200;
const MAX_OFFLINE_TTL = 10 * 24 * 3600;
/** What Warbler holds the notification object (with action_parameters) to: the same 4 KiB as the others. */
export const OPPO_MAX_PAYLOAD = 4096;
const MAX_CALLBACK_URL = 200;
const MAX_CALLBACK_PARAM = 50;

/**
 * The `notification` of one `unicast_batch` message (OPPO "单点推送", "消息体内容定义"): title,
 * content, click_action_type 0 (open the app), action_parameters (JSON of the message's data, url
 * and id), off_line/off_line_ttl (seconds), app_message_id (same id replaces), and the
 * classification: `category` + `notify_level` (2 = shade and lock screen for service messages, 1 =
 * shade only for marketing) and `channel_id` from the app's console channels. `content.oppo` is
 * deep-merged last. OPPO has no data-only messages: a silent push renders the same and is refused
 * by the sender.
 */
export function buildOppoPayload(
	content: MessageContent,
	options: PushOptions,
	credentials: Pick<OppoCredentials, "channel_ids">,
): RenderedPush {
	const { title, body } = alertText(content);
	const notification: Record<string, unknown> = {
		title: truncateChars(title, MAX_TITLE_CHARS),
		content: truncateChars(body, MAX_CONTENT_CHARS),
		click_action_type: 0,
		action_parameters: JSON.stringify(customData(content, options)),
		off_line: true,
		off_line_ttl: Math.min(ttlSeconds(options), MAX_OFFLINE_TTL),
		app_message_id: String(hash32(options.collapseKey ?? options.messageId)),
	};
	const image = imageUrlOf(content);
	if (image) notification.big_picture_url = image;
	const category = oppoVivoCategory(options.category);
	const cls = messageClass(options.category);
	notification.category = category ?? (cls === "transactional" ? "TODO" : "MARKETING");
	notification.notify_level = cls === "transactional" ? 2 : 1;
	const channelId = channelIdFor(credentials.channel_ids, options.category);
	if (channelId) notification.channel_id = channelId;
	// Receipts (OPPO "消息回执说明"): call_back_url ≤ 200 characters, call_back_parameter ≤ 50 — the
	// message id, so a receipt finds its ledger (the device comes from the receipt's registrationIds).
	if (options.receiptUrl && options.receiptUrl.length <= MAX_CALLBACK_URL && options.messageId.length <= MAX_CALLBACK_PARAM) {
		notification.call_back_url = options.receiptUrl;
		notification.call_back_parameter = options.messageId;
	}
	const passthrough = passthroughOf(content, "oppo");
	const merged = passthrough ? deepMerge(notification, passthrough) : notification;
	return { body: { notification: merged, silent: options.silent }, headers: {}, size: jsonSize(merged) };
}
