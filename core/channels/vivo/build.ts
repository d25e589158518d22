import type { MessageContent } from "../../../protocol/message.js";
import { messageClass, oppoVivoCategory } from "../category.js";
import { alertText, customData, deepMerge, jsonSize, passthroughOf, stringValues, ttlSeconds } from "../common.js";
import type { PushOptions, RenderedPush } from "../types.js";

/** vivo: title ≤ 40 and content ≤ 100 "characters" where a CJK character counts two (20 / 50 汉字). */
const MAX_TITLE_WIDTH = 40;
const MAX_CONTENT_WIDTH = 100;
/** timeToLive: "取值至少900秒，最长7天". */
const MIN_TTL = 900;
const MAX_TTL = 7 * 24 * 3600;
export const VIVO_MAX_PAYLOAD = 4096;
/** Receipt limits (vivo push server API "高级特性 extra"): callback ≤ 128 characters, callback.param ≤ 64. */
const MAX_CALLBACK_URL_CHARS = 128;
const MAX_CALLBACK_PARAM_CHARS = 64;

/** vivo's width: two for a CJK (or other non-ASCII BMP) character, one otherwise (emoji count one). */
export function vivoWidth(text: string): number {
	let w = 0;
	for (const ch of text) w += (ch.codePointAt(0) ?? 0) > 0x7f && (ch.codePointAt(0) ?? 0) <= 0xffff ? 2 : 1;
	return w;
}

/** Cuts to at most `max` of vivo's width, with an ellipsis when cut. */
export function truncateWidth(text: string, max: number): string {
	if (vivoWidth(text) <= max) return text;
	let out = "";
	let w = 0;
	for (const ch of text) {
		const cw = vivoWidth(ch);
		if (w + cw > max - 1) break;
		out += ch;
		w += cw;
	}
	return `${out}…`;
}

/**
 * The body of `/message/send` without regId and requestId (vivo push server API "单推接口"):
 * notifyType 4 (sound and vibration), title, content, timeToLive (s, 900 s – 7 days), skipType 1
 * (open the app), networkType -1 (any), clientCustomMap (the message's data, url and id, as
 * strings), and the classification: `classification` 1 system / 0 operational and the new
 * `category` (IM, ACCOUNT, ORDER, … / NEWS, MARKETING, …). `content.vivo` is merged last. With a
 * receipt URL, `extra` {callback, callback.param: the message id} asks for an arrival receipt
 * (core/receipts/parse.ts); vivo honours it on single pushes only.
 */
export function buildVivoPayload(content: MessageContent, options: PushOptions): RenderedPush {
	const { title, body } = alertText(content);
	const cls = messageClass(options.category);
	const message: Record<string, unknown> = {
		notifyType: 4,
		title: truncateWidth(title, MAX_TITLE_WIDTH),
		content: truncateWidth(body, MAX_CONTENT_WIDTH),
		timeToLive: Math.min(MAX_TTL, Math.max(MIN_TTL, ttlSeconds(options))),
		skipType: 1,
		networkType: -1,
		classification: cls === "transactional" ? 1 : 0,
		clientCustomMap: stringValues(customData(content, options)),
	};
	const category = oppoVivoCategory(options.category);
	message.category = category ?? (cls === "transactional" ? "TODO" : "MARKETING");
	const passthrough = passthroughOf(content, "vivo");
	let merged = passthrough ? deepMerge(message, passthrough) : message;
	const url = options.receiptUrl;
	if (url && url.length <= MAX_CALLBACK_URL_CHARS && options.messageId.length <= MAX_CALLBACK_PARAM_CHARS) {
		const prior = merged.extra;
		const kept = typeof prior === "object" && prior !== null && !Array.isArray(prior) ? prior : {};
		const extra = { ...kept, callback: url, "callback.param": options.messageId };
		const withReceipt = { ...merged, extra };
		// A receipt never costs the push: past vivo's body limit the message goes without one.
		if (jsonSize(withReceipt) <= VIVO_MAX_PAYLOAD) merged = withReceipt;
	}
	// vivo has no data-only messages: the sender refuses a silent push instead of showing it.
	return { body: { message: merged, silent: options.silent }, headers: {}, size: jsonSize(merged) };
}
