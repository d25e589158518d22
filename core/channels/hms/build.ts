import type { MessageContent } from "../../../protocol/message.js";
import { hmsCategory } from "../category.js";
import { alertText, customData, deepMerge, imageUrlOf, jsonSize, passthroughOf, ttlSeconds } from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";

export const HMS_MAX_PAYLOAD = 4096;

/**
 * The Push Kit `messages:send` body without tokens (Huawei, "Downlink Message Sending API"):
 * `message.data` is a JSON string of the message's data, url and id; `android` carries urgency
 * (HIGH/NORMAL), ttl ("<n>s") and, for notification messages, `notification` {title, body, image,
 * default_sound/sound, tag (collapse), group, click_action {type: 3: open the app}}. Silent pushes
 * are data messages; `android.category` carries the message classification (`core/channels/category.ts`).
 * `content.hms` is deep-merged into `message` last.
 */
export function buildHmsPayload(content: MessageContent, options: PushOptions): RenderedPush {
	const message: Record<string, unknown> = { data: JSON.stringify(customData(content, options)) };
	// Receipts: the URL lives in AppGallery Connect; `android.bi_tag` comes back as each status's
	// biTag (Huawei "Message Receipt" API), so it carries the message id.
	const android: Record<string, unknown> = {
		urgency: options.priority === "high" ? "HIGH" : "NORMAL",
		ttl: `${ttlSeconds(options)}s`,
	};
	// Push Kit self-classification: a service category (IM, ACCOUNT, …) or MARKETING; none lets Huawei classify.
	const category = hmsCategory(options.category);
	if (category) android.category = category;
	if (!options.silent) {
		// Title and body are mandatory when message.notification is absent.
		const { title, body } = alertText(content);
		const notification: Record<string, unknown> = { title, body, click_action: { type: 3 } };
		const image = imageUrlOf(content);
		if (image) notification.image = image;
		if (options.sound && options.sound !== "default") notification.sound = options.sound;
		else notification.default_sound = true;
		if (options.collapseKey) notification.tag = options.collapseKey;
		if (options.group) notification.group = options.group;
		android.notification = notification;
	}
	if (options.receipts) android.bi_tag = options.messageId;
	message.android = android;

	const passthrough = passthroughOf(content, "hms");
	const merged = passthrough ? deepMerge(message, passthrough) : message;
	// Huawei's 4 KiB applies to the message without its tokens.
	return { body: { validate_only: false, message: merged }, headers: {}, size: jsonSize(merged) };
}
