import { z } from "../zod.js";
import type { ReceiptChannel } from "./token.js";

/**
 * Vendor receipt bodies → one event per device. Where each format comes from:
 *
 * - OPPO ("OPPO开放平台 消息回执说明", open.oppomobile.com, mirrored at yimenapp.com/kb-yimen/11083):
 *   the message's `call_back_url` (≤ 200 characters, registration-id pushes only) receives a POST
 *   with Content-Type application/json whose body is a JSON array of
 *   `{messageId, appId, taskId, registrationIds: "regId1, regId2", eventTime, param, eventType}`
 *   once the message arrives on the device; `param` is the message's `call_back_parameter` (≤ 50
 *   characters). `eventType` (`push_arrive`) is read when present; OPPO documents arrival receipts
 *   only, so a receipt without one counts as an arrival.
 * - Huawei Push Kit ("Message Receipt" API, developer.huawei.com/consumer/cn/doc/HMS-References/push-receiptapi):
 *   the receipt URL is set in AppGallery Connect (not per message); a POST with
 *   `{"statuses": [{biTag, appid, token, status, timestamp, requestId}]}` (up to 1,000), `biTag` as
 *   sent in the message, `status` 0 = delivered (other codes: not installed, notifications off, …).
 *   The answer is JSON `{errno, errmsg}`. Push Kit sends no click receipts.
 */

export type ReceiptKind = "delivered" | "clicked";

export interface ReceiptEvent {
	messageId: string;
	/** The vendor device token the receipt is about. */
	token: string;
	kind: ReceiptKind;
	/** Epoch ms the vendor reports (arrival on the device), else when Warbler got it. */
	at: number;
}

/** Most events one receipt post may carry (HMS merges up to 1,000 statuses). */
export const MAX_RECEIPT_EVENTS = 1000;

const Text = z.string().max(4096);
const Time = z.union([z.number(), z.string().max(32)]).optional();

export const OppoReceiptBody = z
	.array(
		z.object({
			messageId: Text.optional(),
			appId: Text.optional(),
			taskId: Text.optional(),
			registrationIds: Text,
			eventTime: Time,
			param: Text.optional(),
			eventType: Text.optional(),
		}),
	)
	.max(MAX_RECEIPT_EVENTS);

export const HmsReceiptBody = z.object({
	statuses: z
		.array(
			z.object({
				biTag: Text.optional(),
				appid: Text.optional(),
				token: Text,
				status: z.number().int(),
				timestamp: Time,
				requestId: Text.optional(),
			}),
		)
		.max(MAX_RECEIPT_EVENTS),
});

export const RECEIPT_BODIES = { oppo: OppoReceiptBody, hms: HmsReceiptBody } as const;

/** What each vendor expects back on success (anything else makes some vendors retry). */
export const RECEIPT_ANSWERS: Record<ReceiptChannel, unknown> = {
	oppo: { code: 0, message: "success" },
	hms: { errno: "0", errmsg: "success" },
};

function when(t: number | string | undefined, now: number): number {
	const n = typeof t === "string" ? Number(t) : t;
	// Seconds or milliseconds; anything odd is "now".
	if (n === undefined || !Number.isFinite(n) || n <= 0) return now;
	return n < 1e11 ? n * 1000 : n;
}

/** The events of a validated body; receipts that name no message of ours (no param/biTag) are skipped. */
export function receiptEvents(channel: ReceiptChannel, body: unknown, now = Date.now()): ReceiptEvent[] {
	const out: ReceiptEvent[] = [];
	if (channel === "oppo") {
		for (const r of body as z.infer<typeof OppoReceiptBody>) {
			if (!r.param) continue;
			const kind: ReceiptKind = r.eventType && /click/i.test(r.eventType) ? "clicked" : "delivered";
			for (const token of r.registrationIds.split(",")) {
				const t = token.trim();
				if (t) out.push({ messageId: r.param, token: t, kind, at: when(r.eventTime, now) });
			}
		}
	} else {
		for (const s of (body as z.infer<typeof HmsReceiptBody>).statuses) {
			if (!s.biTag || s.status !== 0) continue;
			out.push({ messageId: s.biTag, token: s.token, kind: "delivered", at: when(s.timestamp, now) });
		}
	}
	return out;
}

/** Events grouped per message: one ledger call per message per post. */
export function byMessage(events: ReceiptEvent[]): Map<string, ReceiptEvent[]> {
	const out = new Map<string, ReceiptEvent[]>();
	for (const e of events) {
		const list = out.get(e.messageId) ?? [];
		list.push(e);
		out.set(e.messageId, list);
	}
	return out;
}
