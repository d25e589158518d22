/**
 * Vendor receipts on the real Worker, Durable Objects and D1: the token is the only credential (a
 * wrong token, app or channel is the same 404), malformed bodies are 400s, a receipt marks its
 * device once however often it comes, and another app's messages are never touched.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { receiptToken } from "../../../core/receipts/token.js";
import { call, newApp, send } from "../http.js";
import { vendorSentMessage } from "./helpers.js";

const BASE = "http://warbler.test";

async function postReceipt(channel: string, appId: string, token: string, body: unknown, contentType = "application/json") {
	return send(`${BASE}/v1/receipts/${channel}/${appId}/${token}`, {
		method: "POST",
		headers: { "content-type": contentType },
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

/** A message with one OPPO and one HMS device marked `sent` in its ledger, as the vendor queue records them. */
const sentMessage = (key: string, appId: string, user: string) =>
	vendorSentMessage({ key, appId }, user, [
		{ channel: "oppo", deviceId: "reno", token: (id) => `CN_tok-${id}` },
		{ channel: "hms", deviceId: "mate", token: (id) => `hms-${id}` },
	]);

const oppoArrival = (messageId: string, regId: string) => [
	{
		messageId: "oppo-msg-1",
		appId: "oppo-app",
		taskId: "oppo-msg-1",
		registrationIds: regId,
		eventTime: String(Date.now()),
		param: messageId,
		eventType: "push_arrive",
	},
];

/** A message with one Xiaomi and one Meizu device marked `sent`. */
const sentFormMessage = (key: string, appId: string, user: string) =>
	vendorSentMessage({ key, appId }, user, [
		{ channel: "xiaomi", deviceId: "mi", token: (id) => `xm-${id}` },
		{ channel: "meizu", deviceId: "mx", token: (id) => `mz-${id}` },
	]);

/** Xiaomi's post: form field `data` = JSON keyed by Xiaomi's message id. */
const xiaomiForm = (entries: Record<string, unknown>) => new URLSearchParams({ data: JSON.stringify(entries) }).toString();
/** Meizu's post: form fields `cb` (JSON keyed "<msgId>-<type>") and `access_token`. */
const meizuForm = (entries: Record<string, unknown>) =>
	new URLSearchParams({ cb: JSON.stringify(entries), access_token: "at" }).toString();
const FORM = "application/x-www-form-urlencoded";

const byChannel = async (key: string, id: string) => (await call("GET", `/v1/messages/${id}`, key)).body.counts.by_channel;

describe("POST /v1/receipts/{channel}/{appId}/{token}", () => {
	it("a wrong token, app or channel is the same 404, and nothing is counted", async () => {
		const a = await newApp();
		const b = await newApp();
		const id = await sentMessage(a.key, a.appId, "u1");
		const good = await receiptToken(env, "oppo", a.appId);
		const body = oppoArrival(id, `CN_tok-${id}`);
		const answers = [
			await postReceipt("oppo", a.appId, `${good.slice(0, -1)}${good.endsWith("A") ? "B" : "A"}`, body),
			await postReceipt("oppo", b.appId, good, body),
			await postReceipt("oppo", "no-such-app", good, body),
			await postReceipt("honor", a.appId, await receiptToken(env, "honor", a.appId), body),
			await postReceipt("hms", a.appId, good, { statuses: [] }),
		];
		for (const r of answers) {
			expect(r.status, r.text).toBe(404);
			expect(r.body).toEqual({ error: { code: "not_found", message: "No such receipt endpoint." } });
		}
		expect((await byChannel(a.key, id)).oppo.delivered).toBeUndefined();
	});

	it("malformed bodies are 400s", async () => {
		const a = await newApp();
		const oppo = await receiptToken(env, "oppo", a.appId);
		const hms = await receiptToken(env, "hms", a.appId);
		const cases: [string, string, unknown][] = [
			["oppo", oppo, "{not json"],
			["oppo", oppo, { statuses: [] }],
			["oppo", oppo, [{ param: "x" }]],
			["oppo", oppo, [{ registrationIds: 7 }]],
			["hms", hms, []],
			["hms", hms, { statuses: [{ biTag: "m", status: "0" }] }],
			["hms", hms, { statuses: "all" }],
			["hms", hms, ""],
		];
		for (const [channel, token, body] of cases) {
			const r = await postReceipt(channel, a.appId, token, body);
			expect(r.status, `${channel} ${JSON.stringify(body)}: ${r.text}`).toBe(400);
			expect(r.body.error.code).toBe("invalid_request");
		}
		const tooMany = Array.from({ length: 1001 }, () => ({ registrationIds: "x", param: "m" }));
		expect((await postReceipt("oppo", a.appId, oppo, tooMany)).status).toBe(400);
	});

	it("OPPO and HMS arrivals count once per device, with delivered_at on the recipient's device", async () => {
		const a = await newApp();
		const id = await sentMessage(a.key, a.appId, "u1");
		const oppo = await receiptToken(env, "oppo", a.appId);
		const hms = await receiptToken(env, "hms", a.appId);
		for (let i = 0; i < 3; i++) {
			const r = await postReceipt("oppo", a.appId, oppo, oppoArrival(id, `CN_tok-${id}`));
			expect(r.status, r.text).toBe(200);
			expect(r.body).toEqual({ code: 0, message: "success" });
		}
		const status = { biTag: id, appid: "10000", token: `hms-${id}`, status: 0, timestamp: Date.now(), requestId: "r1" };
		const h = await postReceipt("hms", a.appId, hms, { statuses: [status, status, { ...status, status: 2, token: "other" }] });
		expect(h.status, h.text).toBe(200);
		expect(h.body).toEqual({ errno: "0", errmsg: "success" });
		const counts = await byChannel(a.key, id);
		expect(counts.oppo).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0, delivered: 1, clicked: 0 });
		expect(counts.hms).toMatchObject({ sent: 1, delivered: 1, clicked: 0 });
		const view = await call("GET", `/v1/messages/${id}/recipients/u1`, a.key);
		expect(view.status, view.text).toBe(200);
		const devices = view.body.devices as { device_id: string; delivered_at?: string; clicked_at?: string }[];
		for (const d of devices) {
			expect(d.delivered_at, d.device_id).toMatch(/^\d{4}-\d\d-\d\dT/);
			expect(d.clicked_at).toBeUndefined();
		}
		expect(JSON.stringify(view.body)).not.toContain(`tok-${id}`);
	});

	it("receipts naming another app's message, an unknown message or a token never pushed to change nothing", async () => {
		const a = await newApp();
		const b = await newApp();
		const idA = await sentMessage(a.key, a.appId, "u1");
		const idB = await sentMessage(b.key, b.appId, "u1");
		const tokenA = await receiptToken(env, "oppo", a.appId);
		const body = [
			...oppoArrival(idB, `CN_tok-${idB}`), // B's message and device, through A's URL
			...oppoArrival("msg_does_not_exist", `CN_tok-${idA}`),
			...oppoArrival(idA, "CN_never-pushed"),
		];
		const r = await postReceipt("oppo", a.appId, tokenA, body);
		expect(r.status, r.text).toBe(200);
		expect((await byChannel(a.key, idA)).oppo.delivered).toBeUndefined();
		expect((await byChannel(b.key, idB)).oppo.delivered).toBeUndefined();
	});

	it("a click (a vendor that reports them) counts clicked once and implies arrival", async () => {
		const a = await newApp();
		const id = await sentMessage(a.key, a.appId, "u1");
		const ledger = env.LEDGER.get(env.LEDGER.idFromName(`${a.appId}/${id}`));
		const at = Date.now();
		expect(await ledger.recordReceipts("oppo", [{ token: `CN_tok-${id}`, kind: "clicked", at }])).toBe(2);
		expect(await ledger.recordReceipts("oppo", [{ token: `CN_tok-${id}`, kind: "clicked", at: at + 5 }])).toBe(0);
		expect((await byChannel(a.key, id)).oppo).toMatchObject({ delivered: 1, clicked: 1 });
		const view = await call("GET", `/v1/messages/${id}/recipients/u1`, a.key);
		const reno = (view.body.devices as { device_id: string; clicked_at?: string }[]).find((d) => d.device_id === "reno");
		expect(reno?.clicked_at).toBe(new Date(at).toISOString());
	});
	it("Xiaomi and Meizu post forms: arrivals and clicks count once per device, on by_channel and the device view", async () => {
		const a = await newApp();
		const id = await sentFormMessage(a.key, a.appId, "u1");
		const xiaomi = await receiptToken(env, "xiaomi", a.appId);
		const meizu = await receiptToken(env, "meizu", a.appId);
		const ts = Date.now() - 1000;
		const arrival = { param: id, type: 1, targets: `xm-${id},xm-unknown`, jobkey: "", barStatus: "Enable", timestamp: ts };
		for (let i = 0; i < 2; i++) {
			const r = await postReceipt("xiaomi", a.appId, xiaomi, xiaomiForm({ scm1: arrival, scm2: { ...arrival, type: 16 } }), FORM);
			expect(r.status, r.text).toBe(200);
			expect(r.body).toEqual({});
		}
		const m = await postReceipt(
			"meizu",
			a.appId,
			meizu,
			meizuForm({ "NS1-1": { param: id, type: 1, targets: [`mz-${id}`] } }),
			FORM,
		);
		expect(m.status, m.text).toBe(200);
		let counts = await byChannel(a.key, id);
		expect(counts.xiaomi).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0, delivered: 1, clicked: 0 });
		expect(counts.meizu).toMatchObject({ sent: 1, delivered: 1, clicked: 0 });
		// Clicks: Xiaomi type 2 in its form, Meizu as a JSON object (MEIZUPUSH/PushAPI#9 reports JSON posts).
		const c1 = await postReceipt("xiaomi", a.appId, xiaomi, xiaomiForm({ scm1: { ...arrival, type: 2 } }), FORM);
		expect(c1.status, c1.text).toBe(200);
		const c2 = await postReceipt("meizu", a.appId, meizu, { cb: { "NS1-2": { param: id, type: 2, targets: [`mz-${id}`] } } });
		expect(c2.status, c2.text).toBe(200);
		counts = await byChannel(a.key, id);
		expect(counts.xiaomi).toMatchObject({ delivered: 1, clicked: 1 });
		expect(counts.meizu).toMatchObject({ delivered: 1, clicked: 1 });
		const view = await call("GET", `/v1/messages/${id}/recipients/u1`, a.key);
		const devices = view.body.devices as { device_id: string; delivered_at?: string; clicked_at?: string }[];
		const mi = devices.find((d) => d.device_id === "mi");
		expect(mi?.delivered_at).toBe(new Date(ts).toISOString());
		expect(mi?.clicked_at).toMatch(/^\d{4}-\d\d-\d\dT/);
		expect(devices.find((d) => d.device_id === "mx")?.clicked_at).toMatch(/^\d{4}-\d\d-\d\dT/);
	});

	it("Xiaomi and Meizu: malformed forms are 400s, other apps' messages untouched, a wrong token 404", async () => {
		const a = await newApp();
		const b = await newApp();
		const idA = await sentFormMessage(a.key, a.appId, "u1");
		const idB = await sentFormMessage(b.key, b.appId, "u1");
		const xiaomi = await receiptToken(env, "xiaomi", a.appId);
		const meizu = await receiptToken(env, "meizu", a.appId);
		const cases: [string, string, string][] = [
			["xiaomi", xiaomi, "data=%7Bnot+json"],
			["xiaomi", xiaomi, "data=%5B1%5D"],
			["xiaomi", xiaomi, "other=1"],
			["xiaomi", xiaomi, ""],
			["xiaomi", xiaomi, xiaomiForm({ x: { param: "m", type: 1, targets: ["array"] } })],
			["xiaomi", xiaomi, "data=%7B%22__proto__%22%3A%7B%7D%7D&__proto__=1"],
			["meizu", meizu, meizuForm({ "a-1": { param: "m", type: 1, targets: "not-an-array" } })],
			["meizu", meizu, "cb=nope"],
		];
		for (const [channel, token, body] of cases) {
			const r = await postReceipt(channel, a.appId, token, body, FORM);
			expect(r.status, `${channel} ${body}: ${r.text}`).toBe(400);
			expect(r.body.error.code).toBe("invalid_request");
		}
		// B's message and device through A's URL; A's message with a token never pushed to.
		const other = await postReceipt(
			"xiaomi",
			a.appId,
			xiaomi,
			xiaomiForm({ s1: { param: idB, type: 1, targets: `xm-${idB}` }, s2: { param: idA, type: 1, targets: "xm-never" } }),
			FORM,
		);
		expect(other.status, other.text).toBe(200);
		const wrong = await postReceipt(
			"meizu",
			b.appId,
			meizu,
			meizuForm({ "a-1": { param: idB, type: 1, targets: [`mz-${idB}`] } }),
			FORM,
		);
		expect(wrong.status).toBe(404);
		expect((await byChannel(a.key, idA)).xiaomi.delivered).toBeUndefined();
		expect((await byChannel(b.key, idB)).xiaomi.delivered).toBeUndefined();
		expect((await byChannel(b.key, idB)).meizu.delivered).toBeUndefined();
		// Elsewhere a form body is still not JSON.
		const msg = await send(`${BASE}/v1/messages`, {
			method: "POST",
			headers: { authorization: `Bearer ${a.key}`, "content-type": FORM },
			body: "audience=all",
		});
		expect(msg.status).toBe(400);
	});

	it("vivo posts JSON keyed by taskId: an arrival counts once per device, other apps and bad bodies change nothing", async () => {
		const a = await newApp();
		const b = await newApp();
		const sentVivo = (app: { key: string; appId: string }) =>
			vendorSentMessage(app, "u1", [{ channel: "vivo", deviceId: "x9", token: (id) => `vv-${id}` }]);
		const idA = await sentVivo(a);
		const idB = await sentVivo(b);
		const vivo = await receiptToken(env, "vivo", a.appId);
		const ackTime = Date.now() - 2000;
		const arrival = { param: idA, targets: `vv-${idA}`, ackTime, ackType: "0" };
		for (let i = 0; i < 2; i++) {
			const r = await postReceipt("vivo", a.appId, vivo, { "1234567890": arrival, "1234567891": { ...arrival, ackType: "1" } });
			expect(r.status, r.text).toBe(200);
			expect(r.body).toEqual({});
		}
		expect((await byChannel(a.key, idA)).vivo).toEqual({
			sent: 1,
			failed: 0,
			invalid_token: 0,
			quota_exceeded: 0,
			delivered: 1,
			clicked: 0,
		});
		const view = await call("GET", `/v1/messages/${idA}/recipients/u1`, a.key);
		const x9 = (view.body.devices as { device_id: string; delivered_at?: string }[]).find((d) => d.device_id === "x9");
		expect(x9?.delivered_at).toBe(new Date(ackTime).toISOString());
		// Malformed bodies: 400, nothing counted.
		const bad: unknown[] = [[], "{not json", { t1: { param: idB, targets: [`vv-${idB}`] } }, { t1: "x" }, { t1: { param: idB } }];
		for (const body of bad) {
			const r = await postReceipt("vivo", a.appId, vivo, body);
			expect(r.status, `${JSON.stringify(body)}: ${r.text}`).toBe(400);
			expect(r.body.error.code).toBe("invalid_request");
		}
		// B's message and device through A's URL is ignored; A's token on B's URL is a 404.
		const other = await postReceipt("vivo", a.appId, vivo, { t1: { param: idB, targets: `vv-${idB}`, ackType: "0" } });
		expect(other.status, other.text).toBe(200);
		const wrong = await postReceipt("vivo", b.appId, vivo, { t1: { param: idB, targets: `vv-${idB}`, ackType: "0" } });
		expect(wrong.status).toBe(404);
		expect((await byChannel(b.key, idB)).vivo.delivered).toBeUndefined();
	});
});
