/**
 * Vendor receipts, the pure parts: the callback fields each builder sets (and only when asked), the
 * receipt token (HMAC of channel/appId, verified in constant time, the previous key during a
 * rotation), the receipt URL, and the vendor bodies → events.
 */
import { describe, expect, it } from "vitest";
import { buildHmsPayload } from "../../core/channels/hms/index.js";
import { buildHonorPayload } from "../../core/channels/honor/index.js";
import { buildMeizuPayload } from "../../core/channels/meizu/index.js";
import { buildOppoPayload } from "../../core/channels/oppo/index.js";
import type { PushOptions } from "../../core/channels/types.js";
import { buildVivoPayload } from "../../core/channels/vivo/index.js";
import { buildXiaomiPayload } from "../../core/channels/xiaomi/index.js";
import { byMessage, HmsReceiptBody, OppoReceiptBody, parseReceiptBody, receiptEvents } from "../../core/receipts/parse.js";
import { type ReceiptChannel, receiptToken, receiptUrl, verifyReceiptToken } from "../../core/receipts/token.js";

const content = { type: "text", title: "Order shipped", body: "On its way" } as const;
const base: PushOptions = {
	messageId: "msg_0123456789abcdef",
	priority: "high",
	expiresAt: Date.now() + 3600_000,
	silent: false,
};
const URL_ = "https://push.example.com/v1/receipts/oppo/app_1/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const KEYS = { ENCRYPTION_KEY: "k".repeat(43), PUBLIC_BASE_URL: "https://push.example.com/" };

describe("builders: callback fields", () => {
	it("OPPO sets call_back_url and call_back_parameter (the message id) only with a receipt URL", () => {
		const on = buildOppoPayload(content, { ...base, receiptUrl: URL_, receipts: true }, {}).body.notification as Record<
			string,
			unknown
		>;
		expect(on).toMatchObject({ call_back_url: URL_, call_back_parameter: base.messageId });
		const off = buildOppoPayload(content, base, {}).body.notification as Record<string, unknown>;
		expect(off.call_back_url).toBeUndefined();
		expect(off.call_back_parameter).toBeUndefined();
	});

	it("OPPO leaves them out past its limits (URL ≤ 200, parameter ≤ 50 characters)", () => {
		const longUrl = `https://push.example.com/${"x".repeat(200)}`;
		const n1 = buildOppoPayload(content, { ...base, receiptUrl: longUrl }, {}).body.notification as Record<string, unknown>;
		expect(n1.call_back_url).toBeUndefined();
		const n2 = buildOppoPayload(content, { ...base, messageId: "m".repeat(51), receiptUrl: URL_ }, {}).body
			.notification as Record<string, unknown>;
		expect(n2.call_back_url).toBeUndefined();
	});

	it("HMS tags the message with android.bi_tag = message id only when receipts are on", () => {
		const on = buildHmsPayload(content, { ...base, receipts: true }).body as { message: { android: Record<string, unknown> } };
		expect(on.message.android.bi_tag).toBe(base.messageId);
		const silent = buildHmsPayload(content, { ...base, silent: true, receipts: true }).body as {
			message: { android: Record<string, unknown> };
		};
		expect(silent.message.android.bi_tag).toBe(base.messageId);
		const off = buildHmsPayload(content, base).body as { message: { android: Record<string, unknown> } };
		expect(off.message.android.bi_tag).toBeUndefined();
	});

	it("vivo sets extra.callback and callback.param (the message id) only with a receipt URL, within its limits", () => {
		const extra = (o: PushOptions) => (buildVivoPayload(content, o).body.message as Record<string, unknown>).extra;
		expect(extra({ ...base, receiptUrl: URL_ })).toEqual({ callback: URL_, "callback.param": base.messageId });
		expect(extra(base)).toBeUndefined();
		// callback ≤ 128 characters, callback.param ≤ 64: past either, no receipt is asked for.
		expect(extra({ ...base, receiptUrl: `https://push.example.com/${"x".repeat(104)}` })).toBeUndefined();
		expect(extra({ ...base, messageId: "m".repeat(65), receiptUrl: URL_ })).toBeUndefined();
		// An app's own content.vivo.extra keeps its fields; ours are added.
		const own = buildVivoPayload({ ...content, vivo: { extra: { "callback.id": "7145" } } }, { ...base, receiptUrl: URL_ });
		expect((own.body.message as Record<string, unknown>).extra).toEqual({
			"callback.id": "7145",
			callback: URL_,
			"callback.param": base.messageId,
		});
		// Never past vivo's 4,096-byte body: a message that would be is sent without the receipt.
		const big = { ...content, data: { pad: "x".repeat(3800) } };
		expect(buildVivoPayload(big, base).size).toBeLessThanOrEqual(4096);
		const withUrl = buildVivoPayload(big, { ...base, receiptUrl: URL_ });
		expect((withUrl.body.message as Record<string, unknown>).extra).toBeUndefined();
		expect(withUrl.size).toBe(buildVivoPayload(big, base).size);
	});

	it("Honor (receipt format not confirmed) gets no receipt fields", () => {
		const opts = { ...base, receiptUrl: URL_, receipts: true };
		expect(JSON.stringify(buildHonorPayload(content, opts).body)).not.toMatch(/callback|biTag|bi_tag/);
	});

	it("Xiaomi sets extra.callback, callback.param (the message id) and callback.type 3 only with a receipt URL", () => {
		const creds = { package_name: "dev.warbler.demo" };
		const on = buildXiaomiPayload(content, { ...base, receiptUrl: URL_ }, creds).body as Record<string, string>;
		expect(on).toMatchObject({
			"extra.callback": URL_,
			"extra.callback.param": base.messageId,
			"extra.callback.type": "3",
		});
		const silent = buildXiaomiPayload(content, { ...base, silent: true, receiptUrl: URL_ }, creds).body as Record<string, string>;
		expect(silent["extra.callback.param"]).toBe(base.messageId);
		const off = buildXiaomiPayload(content, base, creds).body as Record<string, string>;
		expect(Object.keys(off).filter((k) => k.includes("callback"))).toEqual([]);
		// callback.param is at most 64 bytes: a longer id asks for no receipt.
		const long = buildXiaomiPayload(content, { ...base, messageId: "m".repeat(65), receiptUrl: URL_ }, creds).body;
		expect(Object.keys(long).filter((k) => k.includes("callback"))).toEqual([]);
	});

	it("Meizu sets messageJson.extra on notifications only, within its limits (URL ≤ 128, param ≤ 64 bytes)", () => {
		const extra = (o: PushOptions) => (buildMeizuPayload(content, o).body.messageJson as Record<string, unknown>).extra;
		expect(extra({ ...base, receiptUrl: URL_ })).toEqual({
			callback: URL_,
			"callback.param": base.messageId,
			"callback.type": 3,
		});
		expect(extra(base)).toBeUndefined();
		expect(extra({ ...base, silent: true, receiptUrl: URL_ })).toBeUndefined();
		expect(extra({ ...base, receiptUrl: `https://push.example.com/${"x".repeat(104)}` })).toBeUndefined();
		expect(extra({ ...base, messageId: "m".repeat(65), receiptUrl: URL_ })).toBeUndefined();
	});
});

describe("receipt token and URL", () => {
	it("is 32 base64url characters, stable, and differs per channel, app and key", async () => {
		const t = await receiptToken(KEYS, "oppo", "app_1");
		expect(t).toMatch(/^[A-Za-z0-9_-]{32}$/);
		expect(await receiptToken(KEYS, "oppo", "app_1")).toBe(t);
		expect(await receiptToken(KEYS, "hms", "app_1")).not.toBe(t);
		expect(await receiptToken(KEYS, "oppo", "app_2")).not.toBe(t);
		expect(await receiptToken({ ENCRYPTION_KEY: "other" }, "oppo", "app_1")).not.toBe(t);
	});

	it("verifies only its own token, and the previous key's during a rotation", async () => {
		const t = await receiptToken(KEYS, "oppo", "app_1");
		expect(await verifyReceiptToken(KEYS, "oppo", "app_1", t)).toBe(true);
		expect(await verifyReceiptToken(KEYS, "hms", "app_1", t)).toBe(false);
		expect(await verifyReceiptToken(KEYS, "oppo", "app_2", t)).toBe(false);
		expect(await verifyReceiptToken(KEYS, "oppo", "app_1", t.slice(0, 31))).toBe(false);
		expect(await verifyReceiptToken(KEYS, "oppo", "app_1", "")).toBe(false);
		const rotated = { ENCRYPTION_KEY: "new-key", ENCRYPTION_KEY_PREVIOUS: KEYS.ENCRYPTION_KEY };
		expect(await verifyReceiptToken(rotated, "oppo", "app_1", t)).toBe(true);
		expect(await verifyReceiptToken({ ENCRYPTION_KEY: "new-key" }, "oppo", "app_1", t)).toBe(false);
	});

	it("the URL needs PUBLIC_BASE_URL and a channel with receipts", async () => {
		const url = await receiptUrl(KEYS, "oppo", "app_1");
		expect(url).toBe(`https://push.example.com/v1/receipts/oppo/app_1/${await receiptToken(KEYS, "oppo", "app_1")}`);
		expect(await receiptUrl({ ENCRYPTION_KEY: "k" }, "oppo", "app_1")).toBeUndefined();
		expect(await receiptUrl({ ...KEYS, PUBLIC_BASE_URL: " " }, "oppo", "app_1")).toBeUndefined();
		expect(await receiptUrl(KEYS, "honor", "app_1")).toBeUndefined();
		expect(await receiptUrl(KEYS, "vivo", "app_1")).toBe(
			`https://push.example.com/v1/receipts/vivo/app_1/${await receiptToken(KEYS, "vivo", "app_1")}`,
		);
		expect(await receiptUrl(KEYS, "xiaomi", "app_1")).toBe(
			`https://push.example.com/v1/receipts/xiaomi/app_1/${await receiptToken(KEYS, "xiaomi", "app_1")}`,
		);
		expect((url ?? "").length).toBeLessThanOrEqual(200);
	});
});

/** The events of a body the parser must accept. */
function eventsOf(channel: ReceiptChannel, body: unknown, now: number) {
	const parsed = parseReceiptBody(channel, body);
	if (!parsed.success) throw new Error(JSON.stringify(parsed.issues));
	return receiptEvents(parsed.data, now);
}

describe("vendor bodies → events", () => {
	it("OPPO: one arrival per registration id, mapped by param; receipts without param skipped", () => {
		const body = OppoReceiptBody.parse([
			{
				messageId: "o1",
				appId: "a",
				taskId: "o1",
				registrationIds: "r1, r2",
				eventTime: "1700000000000",
				param: "m1",
				eventType: "push_arrive",
			},
			{ messageId: "o2", registrationIds: "r3", eventTime: 1700000000 },
		]);
		expect(receiptEvents({ channel: "oppo", body }, 5)).toEqual([
			{ messageId: "m1", token: "r1", kind: "delivered", at: 1700000000000 },
			{ messageId: "m1", token: "r2", kind: "delivered", at: 1700000000000 },
		]);
	});

	it("HMS: status 0 is an arrival, other codes and missing biTags are skipped", () => {
		const body = HmsReceiptBody.parse({
			statuses: [
				{ biTag: "m1", appid: "1", token: "t1", status: 0, timestamp: 1700000000123, requestId: "r" },
				{ biTag: "m1", appid: "1", token: "t2", status: 2, timestamp: 1700000000123, requestId: "r" },
				{ appid: "1", token: "t3", status: 0, timestamp: 1700000000123, requestId: "r" },
				{ biTag: "m2", token: "t4", status: 0 },
			],
		});
		const events = receiptEvents({ channel: "hms", body }, 42);
		expect(events).toEqual([
			{ messageId: "m1", token: "t1", kind: "delivered", at: 1700000000123 },
			{ messageId: "m2", token: "t4", kind: "delivered", at: 42 },
		]);
		expect([...byMessage(events).keys()]).toEqual(["m1", "m2"]);
	});
	it("Xiaomi: the JSON in `data`, one event per target; type 1 arrival, 2 click, other codes and no param skipped", () => {
		const data = {
			xm1: { param: "m1", type: 1, targets: "r1,r2", jobkey: "", barStatus: "Enable", timestamp: 1700000000123 },
			xm2: { param: "m1", type: 2, targets: "r1", barStatus: "Enable", timestamp: 1700000000 },
			xm3: { param: "m2", type: 16, targets: "r9", errorCode: 1 },
			xm4: { type: 1, targets: "r5" },
			xm5: { param: "m3", type: "1", targets: " r6 , " },
		};
		expect(eventsOf("xiaomi", { data: JSON.stringify(data) }, 7)).toEqual([
			{ messageId: "m1", token: "r1", kind: "delivered", at: 1700000000123 },
			{ messageId: "m1", token: "r2", kind: "delivered", at: 1700000000123 },
			{ messageId: "m1", token: "r1", kind: "clicked", at: 1700000000000 },
			{ messageId: "m3", token: "r6", kind: "delivered", at: 7 },
		]);
	});

	it("Meizu: the JSON in `cb` keyed msgId-type, targets an array, no time (when it came)", () => {
		const cb = {
			"NS1-1": { param: "m1", type: 1, targets: ["p1", "p2"] },
			"NS1-2": { param: "m1", type: 2, targets: ["p2"] },
			"NS2-1": { type: 1, targets: ["p3"] },
		};
		for (const body of [{ cb: JSON.stringify(cb), access_token: "t" }, { cb }]) {
			expect(eventsOf("meizu", body, 9)).toEqual([
				{ messageId: "m1", token: "p1", kind: "delivered", at: 9 },
				{ messageId: "m1", token: "p2", kind: "delivered", at: 9 },
				{ messageId: "m1", token: "p2", kind: "clicked", at: 9 },
			]);
		}
	});

	it("vivo: JSON keyed by taskId, one arrival per target; ackType other than 0 and no param skipped", () => {
		// The fields doopush's ProcessVivoCallback reads (ackTime a number, ackType "0" = arrival) and,
		// without ackTime/ackType, the shape the second receiver reads (param, comma-separated targets).
		const body = {
			"1700000000001": { param: "m1", targets: "r1", ackTime: 1700000000123, ackType: "0" },
			"1700000000002": { param: "m1", targets: "r2,r3", ackTime: 1700000000, ackType: 0 },
			"1700000000003": { param: "m2", targets: "r4" },
			"1700000000004": { param: "m3", targets: "r5", ackType: "1" },
			"1700000000005": { targets: "r6", ackType: "0" },
		};
		expect(eventsOf("vivo", body, 11)).toEqual([
			{ messageId: "m1", token: "r1", kind: "delivered", at: 1700000000123 },
			{ messageId: "m1", token: "r2", kind: "delivered", at: 1700000000000 },
			{ messageId: "m1", token: "r3", kind: "delivered", at: 1700000000000 },
			{ messageId: "m2", token: "r4", kind: "delivered", at: 11 },
		]);
	});

	it("vivo: a body that is not an object of valid entries is a validation issue", () => {
		const issues = (body: unknown) => {
			const r = parseReceiptBody("vivo", body);
			return r.success ? [] : r.issues.map((i) => i.path.join("."));
		};
		expect(issues([])).toEqual([""]);
		expect(issues("x")).toEqual([""]);
		expect(issues({ t1: { param: "m", targets: ["r"] } })).toEqual(["t1.targets"]);
		expect(issues({ t1: { param: "m" } })).toEqual(["t1.targets"]);
		expect(issues({ t1: { param: "m", targets: "r", ackType: {} } })).toEqual(["t1.ackType"]);
		const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`t${i}`, { param: "m", targets: "r" }]));
		expect(issues(many)).toEqual([""]);
		expect(issues({})).toEqual([]);
	});

	it("Xiaomi/Meizu: a field that is not a JSON object of valid entries is a validation issue on that field", () => {
		const issues = (channel: "xiaomi" | "meizu", body: unknown) => {
			const r = parseReceiptBody(channel, body);
			return r.success ? [] : r.issues.map((i) => i.path.join("."));
		};
		expect(issues("xiaomi", { data: "{not json" })).toEqual(["data"]);
		expect(issues("xiaomi", { data: "[1]" })).toEqual(["data"]);
		expect(issues("xiaomi", { data: `${"[".repeat(70)}${"]".repeat(70)}` })).toEqual(["data"]);
		expect(issues("xiaomi", { data: JSON.stringify({ x: { param: "m", type: 1, targets: ["r"] } }) })).toEqual([
			"data.x.targets",
		]);
		expect(issues("xiaomi", {})).toEqual(["data"]);
		expect(issues("meizu", { cb: JSON.stringify({ "a-1": { param: "m", type: "one", targets: [] } }) })).toEqual(["cb.a-1.type"]);
		expect(issues("meizu", { data: "{}" })).toEqual(["cb"]);
		const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, { type: 1, targets: "r" }]));
		expect(issues("xiaomi", { data: JSON.stringify(many) })).toEqual(["data"]);
	});
});
