import type { MessageContent } from "../../../protocol/message.js";
import { channelIdFor } from "../category.js";
import {
	alertText,
	byteLength,
	customData,
	hash32,
	imageUrlOf,
	isPlainObject,
	passthroughOf,
	truncateChars,
	ttlSeconds,
} from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";
import type { XiaomiCredentials } from "./credentials.js";

export const XIAOMI_MAX_PAYLOAD = 4096;
/** `extra.callback.param` is at most 64 bytes (core/receipts/parse.ts has the receipt sources). */
const MAX_CALLBACK_PARAM_BYTES = 64;
/** Xiaomi: title shorter than 50 characters, description shorter than 128. */
const MAX_TITLE_CHARS = 49;
const MAX_DESCRIPTION_CHARS = 127;

/**
 * The form fields of `POST /v3/message/regid` without `registration_id` (Xiaomi, "Server API
 * address and parameters"): restricted_package_name, payload (JSON of the message's data, url and
 * id), pass_through (1 = silent, delivered to the app), title and description (notification
 * messages), notify_type (-1: sound, vibration and light), time_to_live (ms), notify_id (same id
 * replaces: derived from the collapse key, else the message id), extra.notify_effect 1 (open the app), big-picture style
 * for images. `content.xiaomi` fields are merged last: `{"extra.channel_id": "…"}` or
 * `{"extra": {"channel_id": "…"}}`, values as strings, null removes. Priority has no Xiaomi field.
 */
export function buildXiaomiPayload(
	content: MessageContent,
	options: PushOptions,
	credentials: Pick<XiaomiCredentials, "package_name" | "channel_ids">,
): RenderedPush {
	const fields: Record<string, string> = {
		restricted_package_name: credentials.package_name,
		payload: JSON.stringify(customData(content, options)),
		pass_through: options.silent ? "1" : "0",
		time_to_live: String(ttlSeconds(options) * 1000),
	};
	// Same notify_id replaces the shown notification, and without one Xiaomi shows only the latest:
	// derive it from the collapse key, else from the message id so distinct messages stack.
	fields.notify_id = String(hash32(options.collapseKey ?? options.messageId) % 2_147_483_648);
	if (!options.silent) {
		// Both are mandatory on a notification message.
		const { title, body } = alertText(content);
		fields.title = truncateChars(title, MAX_TITLE_CHARS);
		fields.description = truncateChars(body, MAX_DESCRIPTION_CHARS);
		fields.notify_type = options.sound && options.sound !== "default" ? "6" : "-1";
		if (options.sound && options.sound !== "default") fields["extra.sound_uri"] = options.sound;
		fields["extra.notify_effect"] = "1";
		// Message classification: the console channel registered for this category (private/public message).
		const channelId = channelIdFor(credentials.channel_ids, options.category);
		if (channelId) fields["extra.channel_id"] = channelId;
		const image = imageUrlOf(content);
		if (image) {
			fields["extra.notification_style_type"] = "2";
			fields["extra.notification_bigPic_uri"] = image;
		}
	}
	// Receipts (core/receipts/parse.ts): arrival and click (callback.type 3) posted to our URL, with the
	// message id as callback.param so a receipt finds its ledger; the device comes from `targets`.
	if (options.receiptUrl && byteLength(options.messageId) <= MAX_CALLBACK_PARAM_BYTES) {
		fields["extra.callback"] = options.receiptUrl;
		fields["extra.callback.param"] = options.messageId;
		fields["extra.callback.type"] = "3";
	}
	const passthrough = passthroughOf(content, "xiaomi");
	if (passthrough) mergeFields(fields, passthrough);
	return { body: fields, headers: {}, size: xiaomiSize(fields) };
}

/** What counts against Xiaomi's 4 KiB: title + description + payload, in bytes. */
export function xiaomiSize(fields: Record<string, string>): number {
	return byteLength(fields.title ?? "") + byteLength(fields.description ?? "") + byteLength(fields.payload ?? "");
}

function mergeFields(fields: Record<string, string>, patch: Record<string, unknown>, prefix = ""): void {
	for (const [key, value] of Object.entries(patch)) {
		if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
		const name = `${prefix}${key}`;
		if (value === null) delete fields[name];
		else if (isPlainObject(value) && prefix === "" && key === "extra") mergeFields(fields, value, "extra.");
		else fields[name] = typeof value === "string" ? value : JSON.stringify(value);
	}
}
