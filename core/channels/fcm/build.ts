import type { MessageContent } from "../../../protocol/message.js";
import { apnsCollapseId } from "../apns/build.js";
import { customData, deepMerge, imageUrlOf, jsonSize, passthroughOf, stringValues, ttlSeconds } from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";

export const FCM_MAX_PAYLOAD = 4096;

/**
 * The FCM HTTP v1 `messages:send` body without the token (Firebase, "REST Resource:
 * projects.messages"): `notification` {title, body, image}; `data` as a map of strings (the
 * message's data, url and id); `android` {priority, ttl, collapse_key, notification {sound, tag,
 * notification_count, image}}; `apns` {headers, payload.aps} for iOS apps behind FCM. Silent pushes
 * are data-only. `content.fcm` is deep-merged into `message` last.
 */
export function buildFcmPayload(content: MessageContent, options: PushOptions): RenderedPush {
	const ttl = ttlSeconds(options);
	const image = imageUrlOf(content);
	const message: Record<string, unknown> = { data: stringValues(customData(content, options)) };

	const android: Record<string, unknown> = { priority: options.priority === "high" ? "HIGH" : "NORMAL", ttl: `${ttl}s` };
	if (options.collapseKey) android.collapse_key = options.collapseKey;

	const apnsHeaders: Record<string, string> = {
		"apns-push-type": options.silent ? "background" : "alert",
		"apns-priority": !options.silent && options.priority === "high" ? "10" : "5",
		"apns-expiration": String(Math.max(0, Math.floor(options.expiresAt / 1000))),
	};
	if (options.collapseKey) apnsHeaders["apns-collapse-id"] = apnsCollapseId(options.collapseKey);
	const aps: Record<string, unknown> = {};
	const apns: Record<string, unknown> = { headers: apnsHeaders, payload: { aps } };

	if (options.silent) {
		aps["content-available"] = 1;
	} else {
		const notification: Record<string, string> = {};
		if (content.title) notification.title = content.title;
		if (content.body) notification.body = content.body;
		if (image) notification.image = image;
		message.notification = notification;

		const androidNotification: Record<string, unknown> = { sound: options.sound ?? "default" };
		if (options.collapseKey) androidNotification.tag = options.collapseKey;
		if (options.badge !== undefined) androidNotification.notification_count = options.badge;
		android.notification = androidNotification;

		aps.sound = options.sound ?? "default";
		if (options.badge !== undefined) aps.badge = options.badge;
		if (options.group) aps["thread-id"] = options.group;
		if (image) {
			aps["mutable-content"] = 1;
			apns.fcm_options = { image };
		}
	}
	message.android = android;
	message.apns = apns;

	const passthrough = passthroughOf(content, "fcm");
	const merged = passthrough ? deepMerge(message, passthrough) : message;
	// The limit applies to the message without its token.
	return { body: { message: merged }, headers: {}, size: jsonSize(merged) };
}
