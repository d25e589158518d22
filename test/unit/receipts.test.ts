/**
 * Vendor receipts, the pure parts: the callback fields each builder sets (and only when asked), the
 * receipt token (HMAC of channel/appId, verified in constant time, the previous key during a
 * rotation), the receipt URL, and the vendor bodies → events.
 */
import { describe, expect, it } from "vitest";
import { buildHmsPayload } from "../../core/channels/hms/index.js";
import { buildOppoPayload } from "../../core/channels/oppo/index.js";
import type { PushOptions } from "../../core/channels/types.js";
import { buildVivoPayload } from "../../core/channels/vivo/index.js";
import { buildXiaomiPayload } from "../../core/channels/xiaomi/index.js";
import { byMessage, HmsReceiptBody, OppoReceiptBody, receiptEvents } from "../../core/receipts/parse.js";
import { receiptToken, receiptUrl, verifyReceiptToken } from "../../core/receipts/token.js";

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

	it("vendors whose receipt format is not supported get no callback fields", () => {
		const opts = { ...base, receiptUrl: URL_, receipts: true };
		const xiaomi = buildXiaomiPayload(content, opts, { package_name: "dev.warbler.demo" }).body;
		expect(Object.keys(xiaomi).filter((k) => k.includes("callback"))).toEqual([]);
		expect(JSON.stringify(buildVivoPayload(content, opts).body)).not.toContain("callback");
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
		expect(await receiptUrl(KEYS, "xiaomi", "app_1")).toBeUndefined();
		expect((url ?? "").length).toBeLessThanOrEqual(200);
	});
});

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
		expect(receiptEvents("oppo", body, 5)).toEqual([
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
		const events = receiptEvents("hms", body, 42);
		expect(events).toEqual([
			{ messageId: "m1", token: "t1", kind: "delivered", at: 1700000000123 },
			{ messageId: "m2", token: "t4", kind: "delivered", at: 42 },
		]);
		expect([...byMessage(events).keys()]).toEqual(["m1", "m2"]);
	});
});
