import type { MessageContent } from "../../../protocol/message.js";
import { messageClass } from "../category.js";
import { alertText, customData, deepMerge, imageUrlOf, jsonSize, passthroughOf, ttlSeconds } from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";

/** Honor: message body (without tokens) up to 4,096 bytes, like Push Kit which it derives from. */
export const HONOR_MAX_PAYLOAD = 4096;

/**
 * The `sendMessage` body without `token` (Honor Push "下行消息接口"): `data` (JSON string of the
 * message's data, url and id), `android.ttl` ("<n>s"), and for notification messages
 * `android.notification` {title, body, image, tag (collapse), group, clickAction {type: 3: open
 * the app}, importance: NORMAL for service & communication, LOW for content & marketing (Honor's
 * message classification)}. Silent pushes are data (透传) messages. `content.honor` is merged last.
 */
export function buildHonorPayload(content: MessageContent, options: PushOptions): RenderedPush {
	const message: Record<string, unknown> = { data: JSON.stringify(customData(content, options)) };
	const android: Record<string, unknown> = { ttl: `${ttlSeconds(options)}s` };
	if (!options.silent) {
		const { title, body } = alertText(content);
		const notification: Record<string, unknown> = {
			title,
			body,
			clickAction: { type: 3 },
			importance: messageClass(options.category) === "transactional" ? "NORMAL" : "LOW",
		};
		const image = imageUrlOf(content);
		if (image) notification.image = image;
		if (options.collapseKey) notification.tag = options.collapseKey;
		if (options.group) notification.group = options.group;
		android.notification = notification;
	}
	message.android = android;
	const passthrough = passthroughOf(content, "honor");
	const merged = passthrough ? deepMerge(message, passthrough) : message;
	return { body: merged, headers: {}, size: jsonSize(merged) };
}
