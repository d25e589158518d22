/**
 * vivo push server API (as https://api-push.vivo.com.cn): `POST /message/auth` {appId, appKey,
 * timestamp, sign = md5(appId + appKey + timestamp + appSecret)} → authToken valid 24 h (at most 10
 * calls a second per app); `/message/send` (one regId), `/message/saveListPayload` (→ taskId) and
 * `/message/pushToList` (2–1,000 regIds), each with the `authToken` header and `appId` in the body.
 * Answers `{result, desc, …}` with HTTP 200 like vivo. A single push with `extra.callback` (≤ 128
 * characters; `callback.param` ≤ 64) gets an arrival receipt posted there (sim/receipts.ts).
 */
import { createHash } from "node:crypto";
import { faultDelay, retryAfter, type SimContext } from "./context.ts";
import { header, isObject, json, parseJson, randomToken, redactHeaders, type SimRequest, type SimResponse } from "./http.ts";
import { postReceipt } from "./receipts.ts";
import type { Fault, Outcome } from "./state.ts";

const TOKEN_MS = 24 * 3600 * 1000;
const AUTH_PER_SECOND = 10;
const CLOCK_SKEW_MS = 10 * 60 * 1000;
/**
 * 10070 (daily total exceeded), 10252 (batch payloads exceeded) and 10094 (appId differs from the
 * token's) are vivo's 2.9.2 document's, 10302 "regId 不合法" vivo's server SDK's (sources in
 * core/channels/vivo/send.ts); 10000 for a refused token is unconfirmed (see VIVO_CODES.authFailed);
 * 10050 (the SDK's "alias和regId 不能都为空") for any other parameter problem and 10101 for a refused
 * signature are the simulator's own choice.
 */
export const VIVO_SIM_CODES = {
	ok: 0,
	authFailed: 10000,
	badParameter: 10050,
	dailyQuota: 10070,
	appIdMismatch: 10094,
	badSign: 10101,
	batchQuota: 10252,
	regIdInvalid: 10302,
} as const;

const answer = (
	result: number,
	desc: string,
	extra: Record<string, unknown> = {},
	status = 200,
	headers?: Record<string, string>,
) => json(status, { result, desc, ...extra }, headers);

/** vivo's width: a CJK (non-ASCII BMP) character counts two. */
function width(text: string): number {
	let w = 0;
	for (const ch of text) w += (ch.codePointAt(0) ?? 0) > 0x7f && (ch.codePointAt(0) ?? 0) <= 0xffff ? 2 : 1;
	return w;
}

export function createVivo(ctx: SimContext) {
	const creds = ctx.keys.credentials.vivo;
	const tokens = new Map<string, number>();
	const payloads = new Map<string, Record<string, unknown>>();
	const authCalls: number[] = [];
	const stats = () => ctx.state.stats.vivo;

	function auth(req: SimRequest): SimResponse {
		const now = Date.now();
		while (authCalls.length && (authCalls[0] as number) <= now - 1000) authCalls.shift();
		if (authCalls.length >= AUTH_PER_SECOND) return answer(VIVO_SIM_CODES.authFailed, "鉴权接口调用超频", {}, 200);
		authCalls.push(now);
		const parsed = parseJson(req.body);
		const b = parsed.ok && isObject(parsed.value) ? parsed.value : {};
		const timestamp = String(b.timestamp ?? "");
		const expected = createHash("md5").update(`${b.appId}${b.appKey}${timestamp}${creds.app_secret}`).digest("hex");
		if (String(b.appId) !== creds.app_id || b.appKey !== creds.app_key) {
			stats().auth_failures++;
			return answer(VIVO_SIM_CODES.authFailed, "appId或appKey不合法");
		}
		if (b.sign !== expected || Math.abs(now - Number(timestamp)) > CLOCK_SKEW_MS) {
			stats().auth_failures++;
			return answer(VIVO_SIM_CODES.badSign, "sign不合法");
		}
		const token = randomToken(24, "hex");
		tokens.set(token, now + TOKEN_MS);
		stats().token_refreshes++;
		return answer(VIVO_SIM_CODES.ok, "请求成功", { authToken: token });
	}

	/** Common checks of every push endpoint: the token, appId and a JSON body. */
	function open(req: SimRequest): { body: Record<string, unknown> } | { response: SimResponse } {
		const token = header(req, "authtoken");
		const expires = token ? tokens.get(token) : undefined;
		if (!expires || expires <= Date.now()) {
			stats().auth_failures++;
			return { response: answer(VIVO_SIM_CODES.authFailed, "权限认证失败") };
		}
		const parsed = parseJson(req.body);
		if (!parsed.ok || !isObject(parsed.value)) return { response: answer(VIVO_SIM_CODES.badParameter, "请求体不合法") };
		if (String(parsed.value.appId) !== creds.app_id) return { response: answer(VIVO_SIM_CODES.appIdMismatch, "appId不一致") };
		return { body: parsed.value };
	}

	function record(req: SimRequest, regIds: string[], payload: unknown, outcomeOf: (regId: string) => Outcome) {
		const headers = redactHeaders(req.headers);
		for (const regId of regIds.length ? regIds : [""]) {
			ctx.state.record({ channel: "vivo", token: regId, headers, payload, outcome: outcomeOf(regId) });
		}
	}

	/** Fault handling shared by send and pushToList; a response ends the request. */
	function faultAnswer(fault: Fault | undefined, token: string | undefined): SimResponse | undefined {
		if (!fault) return undefined;
		switch (fault.kind) {
			case "429":
			case "too_many_provider_token_updates":
				return answer(VIVO_SIM_CODES.badParameter, "请求过于频繁", {}, 429, retryAfter(fault));
			case "500":
			case "503":
				return answer(VIVO_SIM_CODES.badParameter, "系统繁忙", {}, Number(fault.kind), retryAfter(fault));
			case "auth":
				if (token) tokens.delete(token);
				stats().auth_failures++;
				return answer(VIVO_SIM_CODES.authFailed, "权限认证失败");
			case "quota":
				return answer(VIVO_SIM_CODES.dailyQuota, "发送总量超出限制");
			default:
				return undefined;
		}
	}

	async function send(req: SimRequest): Promise<SimResponse> {
		stats().requests++;
		const opened = open(req);
		const raw = parseJson(req.body);
		const regId = raw.ok && isObject(raw.value) && typeof raw.value.regId === "string" ? raw.value.regId : "";
		const fail = (response: SimResponse, fault?: Fault) => {
			const result = (response.json as { result?: number }).result;
			record(req, [regId], raw.ok ? raw.value : null, () => ({
				status: response.status,
				ok: false,
				reason: String(result),
				...(fault ? { fault: fault.kind } : {}),
			}));
			return response;
		};
		if ("response" in opened) return fail(opened.response);
		const body = opened.body;
		if (!regId) return fail(answer(VIVO_SIM_CODES.badParameter, "regId不能为空"));
		const problem = checkMessage(body);
		if (problem) return fail(answer(VIVO_SIM_CODES.badParameter, problem));
		const fault = ctx.state.takeFault("vivo", [regId]);
		await faultDelay(ctx, fault);
		const faulted = faultAnswer(fault, header(req, "authtoken"));
		if (faulted) return fail(faulted, fault);
		const gone = regId.startsWith("invalid-") || (fault && ["410", "unregistered", "bad_token"].includes(fault.kind));
		if (gone) return fail(answer(VIVO_SIM_CODES.regIdInvalid, "regId不合法"), fault);
		const taskId = randomToken(8, "hex");
		record(req, [regId], body, () => ({ status: 200, ok: true, ...(fault ? { fault: fault.kind } : {}) }));
		const extra = isObject(body.extra) ? body.extra : undefined;
		if (typeof extra?.callback === "string" && fault?.kind !== "no_receipt") {
			const receipt = { param: extra["callback.param"] ?? "", targets: regId, ackTime: Date.now(), ackType: "0" };
			postReceipt(ctx, "vivo", extra.callback, { [taskId]: receipt });
		}
		return answer(VIVO_SIM_CODES.ok, "请求成功", { taskId });
	}

	function saveListPayload(req: SimRequest): SimResponse {
		stats().requests++;
		const opened = open(req);
		if ("response" in opened) return opened.response;
		const problem = checkMessage(opened.body);
		if (problem) return answer(VIVO_SIM_CODES.badParameter, problem);
		const taskId = String(Date.now()) + randomToken(3, "hex");
		payloads.set(taskId, opened.body);
		return answer(VIVO_SIM_CODES.ok, "请求成功", { taskId });
	}

	async function pushToList(req: SimRequest): Promise<SimResponse> {
		stats().requests++;
		const opened = open(req);
		const raw = parseJson(req.body);
		const regIds =
			raw.ok && isObject(raw.value) && Array.isArray(raw.value.regIds)
				? raw.value.regIds.filter((r): r is string => typeof r === "string")
				: [];
		const payload = raw.ok && isObject(raw.value) ? payloads.get(String(raw.value.taskId)) : undefined;
		const fail = (response: SimResponse, fault?: Fault) => {
			const result = (response.json as { result?: number }).result;
			record(req, regIds, payload ?? null, () => ({
				status: response.status,
				ok: false,
				reason: String(result),
				...(fault ? { fault: fault.kind } : {}),
			}));
			return response;
		};
		if ("response" in opened) return fail(opened.response);
		if (regIds.length < 2 || regIds.length > 1000)
			return fail(answer(VIVO_SIM_CODES.badParameter, "regIds个数必须在2到1000之间"));
		if (!payload) return fail(answer(VIVO_SIM_CODES.badParameter, "taskId不存在"));
		if (typeof opened.body.requestId !== "string" || !opened.body.requestId)
			return fail(answer(VIVO_SIM_CODES.badParameter, "requestId不能为空"));
		const faults = ctx.state.takeBatchFaults("vivo", regIds);
		const fault = faults.request;
		await faultDelay(ctx, fault);
		const faulted = faultAnswer(fault, header(req, "authtoken"));
		if (faulted) return fail(faulted, fault);
		const invalid = new Set(regIds.filter((r) => r.startsWith("invalid-")));
		for (const r of faults.perToken.keys()) invalid.add(r);
		if (fault && ["410", "unregistered", "bad_token"].includes(fault.kind)) for (const r of regIds) invalid.add(r);
		record(req, regIds, payload, (r) =>
			invalid.has(r) ? { status: 200, ok: false, reason: "invalidUsers 1" } : { status: 200, ok: true },
		);
		return answer(VIVO_SIM_CODES.ok, "请求成功", {
			taskId: String(opened.body.taskId),
			invalidUsers: [...invalid].map((userid) => ({ status: 1, userid })),
		});
	}

	return { auth, send, saveListPayload, pushToList };
}

/** vivo's documented limits on the message fields. */
function checkMessage(b: Record<string, unknown>): string | undefined {
	if (typeof b.title !== "string" || !b.title || width(b.title) > 40) return "title不合法(最多40个字符)";
	if (typeof b.content !== "string" || !b.content || width(b.content) > 100) return "content不合法(最多100个字符)";
	if (![1, 2, 3, 4].includes(b.notifyType as number)) return "notifyType不合法";
	if (![1, 2, 3, 4].includes(b.skipType as number)) return "skipType不合法";
	const ttl = b.timeToLive;
	if (ttl !== undefined && (typeof ttl !== "number" || ttl < 900 || ttl > 7 * 24 * 3600)) return "timeToLive不合法";
	if (b.classification !== undefined && b.classification !== 0 && b.classification !== 1) return "classification不合法";
	if (b.clientCustomMap !== undefined) {
		if (!isObject(b.clientCustomMap)) return "clientCustomMap不合法";
		for (const v of Object.values(b.clientCustomMap)) if (typeof v !== "string") return "clientCustomMap的值必须是字符串";
	}
	if (typeof b.requestId !== "string" || !b.requestId || b.requestId.length > 64) return "requestId不合法";
	if (b.extra !== undefined) {
		if (!isObject(b.extra)) return "extra不合法";
		const { callback, "callback.param": param } = b.extra;
		if (callback !== undefined && (typeof callback !== "string" || callback.length > 128))
			return "extra.callback不合法(最多128个字符)";
		if (param !== undefined && (typeof param !== "string" || param.length > 64))
			return "extra.callback.param不合法(最多64个字符)";
	}
	if (Buffer.byteLength(JSON.stringify(b)) > 4096) return "消息体超过4096字节";
	return undefined;
}
