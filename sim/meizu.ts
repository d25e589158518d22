/**
 * Flyme (Meizu) push server API (as https://api-push.meizu.com): `POST
 * /garcia/api/server/push/{varnished|unvarnished}/pushByPushId`, form appId, pushIds (≤ 100,
 * comma-separated), messageJson and sign = md5(sorted "k=v" pairs concatenated + appSecret).
 * Answers `{code, message, value, redirect}` with codes as strings: MEIZUPUSH/PushAPI README (commit
 * a39667d) "Api returnCode定义" and "map部分code定义", sources in core/channels/meizu/send.ts.
 */
import { createHash } from "node:crypto";
import { faultDelay, retryAfter, type SimContext } from "./context.ts";
import { isObject, json, randomToken, redactHeaders, type SimRequest, type SimResponse } from "./http.ts";
import { postReceipt } from "./receipts.ts";
import type { Fault, Outcome } from "./state.ts";

/** "推送设备，一批最多不能超过100个" (MEIZUPUSH/PushAPI README since commit afe9ff0). */
const MAX_PUSH_IDS = 100;
export const MEIZU_SIM_CODES = {
	ok: "200",
	overloaded: "519",
	system: "1001",
	param: "1005",
	sign: "1006",
	appId: "110000",
	notSubscribed: "110002",
	illegalPushId: "110003",
	rate: "110010",
	dailyLimit: "110019",
} as const;

const answer = (code: string, message: string, value: unknown = "", status = 200, headers?: Record<string, string>) =>
	json(status, { code, message, value, redirect: "" }, headers);

export function meizuSignature(params: Record<string, string>, secret: string): string {
	const keys = Object.keys(params).sort();
	return createHash("md5")
		.update(keys.map((k) => `${k}=${params[k]}`).join("") + secret)
		.digest("hex");
}

export function createMeizu(ctx: SimContext) {
	const creds = ctx.keys.credentials.meizu;
	const stats = () => ctx.state.stats.meizu;

	return async function push(req: SimRequest, kind: "varnished" | "unvarnished"): Promise<SimResponse> {
		stats().requests++;
		const form = new URLSearchParams(req.body.toString("utf8"));
		const params: Record<string, string> = {};
		for (const [k, v] of form) if (k !== "sign") params[k] = v;
		const pushIds = (params.pushIds ?? "")
			.split(",")
			.map((s) => s.trim())
			.filter(Boolean);
		let message: unknown;
		try {
			message = JSON.parse(params.messageJson ?? "null");
		} catch {
			message = undefined;
		}
		const headers = redactHeaders(req.headers);
		const finish = (response: SimResponse, outcomeOf: (id: string) => Outcome) => {
			for (const id of pushIds.length ? pushIds : [""]) {
				ctx.state.record({ channel: "meizu", token: id, headers, payload: { kind, message }, outcome: outcomeOf(id) });
			}
			return response;
		};
		const fail = (response: SimResponse, fault?: Fault) => {
			const code = (response.json as { code?: string }).code;
			return finish(response, () => ({
				status: response.status,
				ok: false,
				reason: code ?? "",
				...(fault ? { fault: fault.kind } : {}),
			}));
		};
		if (params.appId !== creds.app_id) {
			stats().auth_failures++;
			return fail(answer(MEIZU_SIM_CODES.appId, "appId不合法"));
		}
		if (form.get("sign") !== meizuSignature(params, creds.app_secret)) {
			stats().auth_failures++;
			return fail(answer(MEIZU_SIM_CODES.sign, "签名认证失败"));
		}
		if (pushIds.length === 0 || pushIds.length > MAX_PUSH_IDS)
			return fail(answer(MEIZU_SIM_CODES.param, "pushIds must be 1-100"));
		const problem = checkMessage(message, kind);
		if (problem) return fail(answer(MEIZU_SIM_CODES.param, `参数错误: ${problem}`));

		const faults = ctx.state.takeBatchFaults("meizu", pushIds);
		const fault = faults.request;
		await faultDelay(ctx, fault);
		const illegal = new Set(pushIds.filter((p) => p.startsWith("invalid-")));
		for (const p of faults.perToken.keys()) illegal.add(p);
		if (fault) {
			switch (fault.kind) {
				case "429":
				case "too_many_provider_token_updates":
					// The README's "超速情况" example.
					return fail(
						answer(MEIZU_SIM_CODES.rate, "应用请求频率超过限制", "", fault.kind === "429" ? 429 : 200, retryAfter(fault)),
						fault,
					);
				case "quota":
					return fail(answer(MEIZU_SIM_CODES.dailyLimit, "超过该应用每天推送次数限制"), fault);
				case "500":
					return fail(answer(MEIZU_SIM_CODES.system, "系统错误", "", 500, retryAfter(fault)), fault);
				case "503":
					return fail(answer(MEIZU_SIM_CODES.overloaded, "推送消息失败服务过载", "", 503, retryAfter(fault)), fault);
				case "auth":
					stats().auth_failures++;
					return fail(answer(MEIZU_SIM_CODES.sign, "签名认证失败"), fault);
				case "410":
				case "unregistered":
				case "bad_token":
					for (const p of pushIds) illegal.add(p);
					break;
				case "slow":
					break;
			}
		}
		const value = illegal.size ? { [MEIZU_SIM_CODES.illegalPushId]: [...illegal] } : {};
		// An arrival receipt for the accepted pushIds when the notification asked for one (core/receipts/parse.ts).
		const extra = isObject(message) && isObject(message.extra) ? message.extra : undefined;
		if (kind === "varnished" && typeof extra?.callback === "string" && fault?.kind !== "no_receipt") {
			const msgId = `NS${randomToken(10, "hex")}`;
			const cb = {
				[`${msgId}-1`]: {
					param: typeof extra["callback.param"] === "string" ? extra["callback.param"] : "",
					type: 1,
					targets: pushIds.filter((p) => !illegal.has(p)),
				},
			};
			const form = new URLSearchParams({ cb: JSON.stringify(cb), access_token: randomToken(16, "hex") });
			postReceipt(ctx, "meizu", extra.callback, form);
		}
		return finish(answer(MEIZU_SIM_CODES.ok, "", value), (id) =>
			illegal.has(id) ? { status: 200, ok: false, reason: MEIZU_SIM_CODES.illegalPushId } : { status: 200, ok: true },
		);
	};
}

/** The documented messageJson fields and limits. */
function checkMessage(m: unknown, kind: "varnished" | "unvarnished"): string | undefined {
	if (!isObject(m)) return "messageJson must be a JSON object";
	const len = (v: unknown) => (typeof v === "string" ? Array.from(v).length : -1);
	const time = m.pushTimeInfo;
	if (time !== undefined) {
		if (!isObject(time)) return "pushTimeInfo must be an object";
		const v = time.validTime;
		if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 72))
			return "validTime must be 1-72 hours";
	}
	if (kind === "unvarnished") {
		if (len(m.content) < 1 || len(m.content) > 2000) return "content must be 1-2000 characters";
		return undefined;
	}
	const bar = m.noticeBarInfo;
	if (!isObject(bar)) return "noticeBarInfo is required";
	if (len(bar.title) < 1 || len(bar.title) > 32) return "title must be 1-32 characters";
	if (len(bar.content) < 1 || len(bar.content) > 100) return "content must be 1-100 characters";
	const click = m.clickTypeInfo;
	if (click !== undefined && (!isObject(click) || ![0, 1, 2, 3].includes((click.clickType ?? 0) as number)))
		return "clickType must be 0-3";
	return undefined;
}
