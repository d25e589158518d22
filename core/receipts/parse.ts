import { nestingDepth } from "../util/json-depth.js";
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
 * - Xiaomi (Mi Push): the push carries extras `callback` (our URL), `callback.param` (≤ 64 bytes:
 *   the message id) and `callback.type` (bitmask, 1 arrival, 2 click, 3 both; Xiaomi support in
 *   blog.csdn.net/zhou_Tian/article/details/108751167, whose receiver also shows the transport: a POST
 *   with Content-Type application/x-www-form-urlencoded and one field `data`). `data` is a JSON object
 *   keyed by Xiaomi's message id, each value `{param, type, targets: "regId1,regId2", jobkey,
 *   barStatus, timestamp}`; `type` 1 = arrived, 2 = clicked, 16/32/64/128 = not delivered (invalid
 *   target, push disabled, filtered, over quota). Sources: doopush/doopush
 *   api/internal/services/callback_service.go (ProcessXiaomiCallback), and two Go receivers found by
 *   code search (repositories not named by the index): one reads `form.Get("data")` into
 *   `map[string]{param, type, targets, jobkey, barStatus}`, one (`MipushCallbackData`) transcribes
 *   Xiaomi's field table (type codes, comma-separated targets, `timestamp` = arrival on the device).
 *   `callback.param` ≤ 64 bytes: pkg.go.dev/github.com/iswangwenbin/pushapi/xiaomipush (Callback).
 *   Xiaomi documents no answer body: the HTTP 200 is the acknowledgement.
 * - Meizu (Flyme push, github.com/MEIZUPUSH/PushAPI README "消息送达与回执", commit a39667d): the
 *   notification's `extra` `{callback (≤ 128 bytes, registered in the console's 回执管理),
 *   callback.param (≤ 64 bytes), callback.type (1, 2, 3)}`; Meizu POSTs form-encoded `cb` (JSON) and
 *   `access_token`; `cb` is keyed `"<msgId>-<type>"`, each value `{param, type, targets: [pushId…]}`
 *   with no time (so "when Warbler got it"). An open issue there (MEIZUPUSH/PushAPI#9) reports the
 *   post arriving as application/json: the same fields as a JSON object are accepted too.
 * - vivo (push server API 2.9.2 "高级特性 extra", mirrored at app.applebyme.cn/cloud/appshangjia/2017.html):
 *   a single push (`/message/send`, formal messages only) carries `extra.callback` (our URL, ≤ 128
 *   characters) and `extra.callback.param` (≤ 64: the message id); vivo's Java server SDK checks
 *   both limits in `Validation.validateSingleMessage` (com.vivo.push.sdk.server, decompiled copies
 *   found by code search). vivo POSTs JSON keyed by its taskId, each value `{param, targets:
 *   "regId1,regId2", ackTime, ackType}`: doopush/doopush api/internal/services/callback_service.go
 *   (ProcessVivoCallback: `ackType` "0" = arrival, `ackTime` a number) and a second, independent
 *   receiver found by code search (QappMsgCallbackServiceImpl.dealVivoMsgCallBack: `param`, comma-
 *   separated `targets`, every receipt an arrival). A receipt without `ackType` counts as an arrival;
 *   any other `ackType` is not one. vivo documents no answer body: the HTTP 200 is the
 *   acknowledgement. vivo's newer receipts (console-registered URL, `extra.callback.id`, since
 *   2023-01; help.aliyun.com/en/document_detail/2859996.html) replace these once enabled there.
 * - Honor: not supported. Its receipts are configured in the Honor console (应用回执), but the only
 *   public description of the body found is one open-source receiver (doopush: `{statuses: [{token,
 *   biTag, status, timestamp, requestId}]}`, status 40000002 = delivered), with no vendor document
 *   to confirm the fields or codes.
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

/**
 * Xiaomi and Meizu post a form whose one field holds JSON; the body reader hands it over as
 * `{field: value}` (workers/http/body.ts). The embedded JSON is a string here (or already an object
 * when the vendor posts JSON) and is checked entry by entry by `parseReceiptBody`.
 */
const Embedded = z.union([z.string().max(1024 * 1024), z.record(z.string(), z.unknown())]);
export const XiaomiReceiptForm = z.object({ data: Embedded });
export const MeizuReceiptForm = z.object({ cb: Embedded, access_token: Text.optional() });

const TypeCode = z.union([
	z.number().int(),
	z
		.string()
		.regex(/^\d{1,9}$/)
		.transform(Number),
]);
const XiaomiEntry = z.object({
	param: Text.optional(),
	type: TypeCode,
	targets: Text,
	jobkey: z.union([Text, z.number()]).optional(),
	barStatus: Text.optional(),
	timestamp: Time,
});
const MeizuEntry = z.object({
	param: Text.optional(),
	type: TypeCode,
	targets: z.array(Text).max(MAX_RECEIPT_EVENTS),
});
/** One vivo receipt, keyed by vivo's taskId in the posted object. */
const VivoEntry = z.object({
	param: Text.optional(),
	targets: Text,
	ackTime: Time,
	ackType: z.union([z.string().max(16), z.number()]).optional(),
});
/** vivo posts a JSON object keyed by its taskId (checked entry by entry, at most MAX_RECEIPT_EVENTS). */
export const VivoReceiptBody = z.record(z.string().max(256), VivoEntry);
type XiaomiReceipt = z.infer<typeof XiaomiEntry>;
type MeizuReceipt = z.infer<typeof MeizuEntry>;
type VivoReceipt = z.infer<typeof VivoEntry>;

/** A validated body: the vendor's own shape; Xiaomi's and Meizu's embedded JSON and vivo's object as lists of entries. */
export type ReceiptBody =
	| { channel: "oppo"; body: z.infer<typeof OppoReceiptBody> }
	| { channel: "hms"; body: z.infer<typeof HmsReceiptBody> }
	| { channel: "xiaomi"; body: XiaomiReceipt[] }
	| { channel: "meizu"; body: MeizuReceipt[] }
	| { channel: "vivo"; body: VivoReceipt[] };

export interface ReceiptIssue {
	code: string;
	path: PropertyKey[];
	message: string;
}

/** Deeper embedded JSON is refused before parsing it (the same bound as the API's body reader). */
const MAX_EMBEDDED_DEPTH = 64;

type ParseResult = { success: true; data: ReceiptBody } | { success: false; issues: ReceiptIssue[] };

function failWith(issues: readonly { code: string; path: PropertyKey[]; message: string }[], prefix: PropertyKey[] = []) {
	return {
		success: false as const,
		issues: issues.map((i) => ({ code: i.code, path: [...prefix, ...i.path], message: i.message })),
	};
}

/** Validates a receipt body of `channel`; for Xiaomi and Meizu also the JSON in the form field. */
export function parseReceiptBody(channel: ReceiptChannel, raw: unknown): ParseResult {
	if (channel === "oppo" || channel === "hms") {
		const r = channel === "oppo" ? OppoReceiptBody.safeParse(raw) : HmsReceiptBody.safeParse(raw);
		if (!r.success) return failWith(r.error.issues);
		return { success: true, data: { channel, body: r.data } as ReceiptBody };
	}
	// vivo's body is itself the object of entries; no form field around it.
	if (channel === "vivo") return parseEntries(channel, raw, []);
	const form = channel === "xiaomi" ? XiaomiReceiptForm.safeParse(raw) : MeizuReceiptForm.safeParse(raw);
	if (!form.success) return failWith(form.error.issues);
	const field = channel === "xiaomi" ? "data" : "cb";
	const embedded = (form.data as Record<string, unknown>)[field];
	let value: unknown = embedded;
	if (typeof embedded === "string") {
		const bad = (message: string) => failWith([{ code: "custom", path: [], message }], [field]);
		if (nestingDepth(embedded) > MAX_EMBEDDED_DEPTH) return bad(`nested deeper than ${MAX_EMBEDDED_DEPTH} levels`);
		try {
			value = JSON.parse(embedded);
		} catch {
			return bad("not a JSON object");
		}
	}
	return parseEntries(channel, value, [field]);
}

/** An object of entries keyed by the vendor's message or task id (Meizu: "<msgId>-<type>"), each checked. */
function parseEntries(channel: "xiaomi" | "meizu" | "vivo", value: unknown, prefix: PropertyKey[]): ParseResult {
	if (typeof value !== "object" || value === null || Array.isArray(value)) {
		return failWith([{ code: "custom", path: [], message: "not a JSON object" }], prefix);
	}
	// The keys themselves are not needed.
	const entries = Object.entries(value).filter(([k]) => k !== "__proto__");
	if (entries.length > MAX_RECEIPT_EVENTS) {
		return failWith([{ code: "custom", path: [], message: `more than ${MAX_RECEIPT_EVENTS} entries` }], prefix);
	}
	const schema = channel === "xiaomi" ? XiaomiEntry : channel === "meizu" ? MeizuEntry : VivoEntry;
	const out: unknown[] = [];
	for (const [key, entry] of entries) {
		const r = schema.safeParse(entry);
		if (!r.success) return failWith(r.error.issues, [...prefix, key]);
		out.push(r.data);
	}
	return { success: true, data: { channel, body: out } as ReceiptBody };
}

/** What each vendor expects back on success (anything else makes some vendors retry). */
export const RECEIPT_ANSWERS: Record<ReceiptChannel, unknown> = {
	oppo: { code: 0, message: "success" },
	hms: { errno: "0", errmsg: "success" },
	// None of these documents an answer body: the HTTP 200 is the acknowledgement.
	xiaomi: {},
	meizu: {},
	vivo: {},
};

/** Xiaomi/Meizu `type`: 1 arrived, 2 clicked (3 = both, as in callback.type); other codes are not deliveries. */
function kindOf(type: number): ReceiptKind | undefined {
	if (type & 2) return "clicked";
	if (type & 1) return "delivered";
	return undefined;
}

function when(t: number | string | undefined, now: number): number {
	const n = typeof t === "string" ? Number(t) : t;
	// Seconds or milliseconds; anything odd is "now".
	if (n === undefined || !Number.isFinite(n) || n <= 0) return now;
	return n < 1e11 ? n * 1000 : n;
}

/** The events of a validated body; receipts that name no message of ours (no param/biTag) are skipped. */
export function receiptEvents(parsed: ReceiptBody, now = Date.now()): ReceiptEvent[] {
	const out: ReceiptEvent[] = [];
	if (parsed.channel === "vivo") {
		for (const r of parsed.body) {
			// ackType "0" is an arrival; a receipt without one is too (see the sources above).
			if (!r.param || (r.ackType !== undefined && String(r.ackType) !== "0")) continue;
			eachToken(out, r.targets, { messageId: r.param, kind: "delivered", at: when(r.ackTime, now) });
		}
	} else if (parsed.channel === "xiaomi" || parsed.channel === "meizu") {
		for (const r of parsed.body) {
			const kind = kindOf(r.type);
			if (!r.param || !kind) continue;
			eachToken(out, r.targets, { messageId: r.param, kind, at: "timestamp" in r ? when(r.timestamp, now) : now });
		}
	} else if (parsed.channel === "oppo") {
		for (const r of parsed.body) {
			if (!r.param) continue;
			const kind: ReceiptKind = r.eventType && /click/i.test(r.eventType) ? "clicked" : "delivered";
			eachToken(out, r.registrationIds, { messageId: r.param, kind, at: when(r.eventTime, now) });
		}
	} else {
		for (const s of parsed.body.statuses) {
			if (!s.biTag || s.status !== 0) continue;
			out.push({ messageId: s.biTag, token: s.token, kind: "delivered", at: when(s.timestamp, now) });
		}
	}
	return out;
}

/** One event per token of a vendor's list (comma-separated text or an array); blank entries are skipped. */
function eachToken(out: ReceiptEvent[], tokens: string | readonly string[], event: Omit<ReceiptEvent, "token">) {
	for (const token of typeof tokens === "string" ? tokens.split(",") : tokens) {
		const t = token.trim();
		if (t) out.push({ ...event, token: t });
	}
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
