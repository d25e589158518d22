import type { MessageContent } from "../../../protocol/message.js";
import {
	alertText,
	byteLength,
	customData,
	deepMerge,
	jsonSize,
	passthroughOf,
	stringValues,
	truncateChars,
	ttlSeconds,
} from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";

/** Flyme: notification title 1–32 characters, content 1–100; pass-through content ≤ 2,000; validTime 1–72 h. */
const MAX_TITLE_CHARS = 32;
const MAX_CONTENT_CHARS = 100;
const MAX_VALID_HOURS = 72;
export const MEIZU_MAX_PAYLOAD = 4096;
/** Receipt limits (MEIZUPUSH/PushAPI "消息送达与回执"): callback URL ≤ 128 bytes, callback.param ≤ 64. */
const MAX_CALLBACK_URL_BYTES = 128;
const MAX_CALLBACK_PARAM_BYTES = 64;

/**
 * The `messageJson` of `pushByPushId` (MEIZUPUSH node-sdk "消息体格式定义"). Notification:
 * noticeBarInfo {title, content}, clickTypeInfo {clickType 0 (open the app), parameters (the
 * message's data, url and id)}, pushTimeInfo {offLine 1, validTime (hours, 1–72)}. Silent pushes
 * are pass-through (`unvarnished`) messages: {title, content (JSON of the data), pushTimeInfo}.
 * Flyme has no message classification field. `content.meizu` is merged last.
 */
export function buildMeizuPayload(content: MessageContent, options: PushOptions): RenderedPush {
	const validTime = Math.min(MAX_VALID_HOURS, Math.max(1, Math.ceil(ttlSeconds(options) / 3600)));
	const data = customData(content, options);
	let message: Record<string, unknown>;
	if (options.silent) {
		message = { content: JSON.stringify(data), pushTimeInfo: { offLine: 1, validTime } };
	} else {
		const { title, body } = alertText(content);
		message = {
			noticeBarInfo: {
				noticeBarType: 0,
				title: truncateChars(title, MAX_TITLE_CHARS),
				content: truncateChars(body, MAX_CONTENT_CHARS),
			},
			clickTypeInfo: { clickType: 0, parameters: stringValues(data) },
			pushTimeInfo: { offLine: 1, validTime },
		};
		// Receipts (core/receipts/parse.ts), notification messages only: arrival and click posted to
		// our URL (which the app owner registers in the Flyme console), the message id as the param.
		const url = options.receiptUrl;
		if (url && byteLength(url) <= MAX_CALLBACK_URL_BYTES && byteLength(options.messageId) <= MAX_CALLBACK_PARAM_BYTES) {
			message.extra = { callback: url, "callback.param": options.messageId, "callback.type": 3 };
		}
	}
	const passthrough = passthroughOf(content, "meizu");
	const merged = passthrough ? deepMerge(message, passthrough) : message;
	return { body: { messageJson: merged, silent: options.silent }, headers: {}, size: jsonSize(merged) };
}
