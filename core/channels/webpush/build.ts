import type { MessageContent } from "../../../protocol/message.js";
import { deepMerge, hash32, imageUrlOf, jsonSize, passthroughOf, ttlSeconds } from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";

/**
 * A push service must accept 4,096 bytes of body (RFC 8030 §7.2); aes128gcm (RFC 8188/8291) spends
 * 86 bytes of header, 1 delimiter and a 16-byte tag of it, leaving 3,993 bytes of plaintext.
 */
export const WEBPUSH_MAX_PAYLOAD = 3993;
/** RFC 8030 §5.4: a Topic is at most 32 characters of the URL-safe base64 alphabet. */
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The plaintext a service worker receives (Warbler's own JSON, there is no vendor schema):
 * {message_id, type, title, body, image, url, tag, badge, data, silent}, with `content.webpush`
 * deep-merged last (e.g. actions, icon, requireInteraction). Headers (RFC 8030): TTL in seconds,
 * Urgency (high → "high", normal → "normal"), Topic from the collapse key.
 */
export function buildWebPushPayload(content: MessageContent, options: PushOptions): RenderedPush {
	const payload: Record<string, unknown> = { message_id: options.messageId, type: content.type };
	if (content.title) payload.title = content.title;
	if (content.body) payload.body = content.body;
	const image = imageUrlOf(content);
	if (image) payload.image = image;
	if (content.url) payload.url = content.url;
	if (options.collapseKey) payload.tag = options.collapseKey;
	if (options.badge !== undefined) payload.badge = options.badge;
	if (content.data) payload.data = content.data;
	if (options.silent) payload.silent = true;

	const passthrough = passthroughOf(content, "webpush");
	const body = passthrough ? deepMerge(payload, passthrough) : payload;

	const headers: Record<string, string> = {
		TTL: String(ttlSeconds(options)),
		Urgency: options.priority === "high" ? "high" : "normal",
	};
	if (options.collapseKey) headers.Topic = webPushTopic(options.collapseKey);
	return { body, headers, size: jsonSize(body) };
}

/** The collapse key when it is a valid Topic, else a stable 16-character hash of it. */
export function webPushTopic(key: string): string {
	if (TOPIC.test(key)) return key;
	return hash32(key).toString(16).padStart(8, "0") + hash32(`${key}#`).toString(16).padStart(8, "0");
}
