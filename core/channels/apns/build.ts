import type { MessageContent } from "../../../protocol/message.js";
import { byteLength, customData, deepMerge, hash32, imageUrlOf, jsonSize, passthroughOf } from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";
import type { ApnsCredentials } from "./credentials.js";

/** Apple's limit for alert and background notifications (VoIP allows 5 KiB). */
export const APNS_MAX_PAYLOAD = 4096;
/** apns-collapse-id may not exceed 64 bytes. */
const MAX_COLLAPSE_ID = 64;

/**
 * The APNs payload and headers (Apple, "Generating a remote notification" and "Sending notification
 * requests to APNs"): `aps` holds alert/sound/badge/thread-id, mutable-content when there is an
 * image for a notification service extension to fetch (custom key `image`), content-available for
 * silent pushes; the message's data, url and id are custom keys beside `aps`; `content.apns` is
 * deep-merged last.
 */
export function buildApnsPayload(
	content: MessageContent,
	options: PushOptions,
	credentials: Pick<ApnsCredentials, "bundle_id">,
): RenderedPush {
	const payload: Record<string, unknown> = customData(content, options);
	delete payload.aps;
	const aps: Record<string, unknown> = {};
	const image = imageUrlOf(content);
	if (options.silent) {
		aps["content-available"] = 1;
	} else {
		const alert: Record<string, string> = {};
		if (content.title) alert.title = content.title;
		if (content.body) alert.body = content.body;
		aps.alert = alert;
		aps.sound = options.sound ?? "default";
		if (options.badge !== undefined) aps.badge = options.badge;
		if (options.group) aps["thread-id"] = options.group;
		if (image) {
			aps["mutable-content"] = 1;
			payload.image = image;
		}
	}
	payload.aps = aps;
	const passthrough = passthroughOf(content, "apns");
	const body = passthrough ? deepMerge(payload, passthrough) : payload;

	const headers: Record<string, string> = {
		"apns-topic": credentials.bundle_id,
		"apns-push-type": options.silent ? "background" : "alert",
		// Background pushes must go at priority 5; 10 is immediate delivery.
		"apns-priority": !options.silent && options.priority === "high" ? "10" : "5",
		"apns-expiration": String(Math.max(0, Math.floor(options.expiresAt / 1000))),
	};
	if (options.collapseKey) headers["apns-collapse-id"] = apnsCollapseId(options.collapseKey);
	return { body, headers, size: jsonSize(body) };
}

/** The collapse key as is when it fits in 64 bytes, else a stable hash of it. */
export function apnsCollapseId(key: string): string {
	if (byteLength(key) <= MAX_COLLAPSE_ID) return key;
	return `h-${hash32(key).toString(16)}-${hash32(`${key}#`).toString(16)}`;
}
