import { isTransientStatus, networkRetry, readJson, retryAfterSeconds, VENDOR_TIMEOUT_MS } from "../common.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { XiaomiCredentials } from "./credentials.js";

export const XIAOMI_MAX_REGIDS = 1000;

/**
 * Xiaomi result codes worth naming. Sources: Xiaomi's "服务端错误码参考"
 * (dev.mi.com/xiaomihyperos/documentation/detail?pId=1560) for the table, and "推送消息限制说明"
 * (dev.mi.com/xiaomihyperos/documentation/detail?pId=1656, FAQ 3.1) for 200001.
 */
export const XIAOMI_CODES = {
	/** "成功". */
	success: 0,
	/**
	 * "发送消息失败" in Xiaomi's table; answered with reason "No valid targets!" when no regid of the
	 * request is valid, and only with that reason read as every target gone (any other 20301 rejects
	 * the push without disabling a device). unconfirmed: the table gives only the generic meaning;
	 * the reading follows the answers Xiaomi gives to invalid regids.
	 */
	allTargetsInvalid: 20301,
	/** Retry: 10002 系统繁忙, 10003 远程服务错误, 10027 应用的API调用太频繁, 10037 请求过期. */
	retryable: new Set([10002, 10003, 10027, 10037]),
	/**
	 * "推送数量超过当日限制时…返回错误码200001, 原因: exceed quota" (pId=1656 FAQ 3.1): quota_exceeded.
	 */
	dailyQuota: 200001,
	/** "应用当日发送消息数量过多" (the table): the day's messages are spent, quota_exceeded. */
	dayMessageLimit: 10034,
	/** "认证失败" (the App Secret is refused): rejected, retrying will not help. */
	authFailed: 21301,
} as const;

interface XiaomiResponse {
	result?: unknown;
	code?: unknown;
	reason?: unknown;
	description?: unknown;
	data?: { id?: unknown; bad_regids?: unknown; bad_regIds?: unknown };
}

/**
 * `POST /v3/message/regid`, form-encoded, `Authorization: key=<app_secret>`, up to 1,000 regids
 * joined by commas. Code 0: sent, except `data.bad_regids` (disabled); 20301 "No valid targets!": every
 * target invalid (20301 with another reason: rejected);
 * 10002/10003/10027/10037, 429 and 5xx: retry (Retry-After honoured); 200001 and 10034 (daily
 * quota): quota_exceeded; anything else rejects the batch.
 */
export async function sendXiaomi(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<XiaomiCredentials>,
): Promise<SendOutcome[]> {
	const outcomes = new Array<SendOutcome>(targets.length);
	const withToken: number[] = [];
	targets.forEach((t, i) => {
		if (t.token) withToken.push(i);
		else outcomes[i] = { kind: "invalid_token", reason: "no Xiaomi regid" };
	});
	for (let start = 0; start < withToken.length; start += XIAOMI_MAX_REGIDS) {
		const indexes = withToken.slice(start, start + XIAOMI_MAX_REGIDS);
		const results = await sendBatch(
			push,
			indexes.map((i) => targets[i]?.token as string),
			ctx,
		);
		indexes.forEach((targetIndex, j) => {
			outcomes[targetIndex] = results[j] as SendOutcome;
		});
	}
	return outcomes;
}

async function sendBatch(push: RenderedPush, regids: string[], ctx: SendContext<XiaomiCredentials>): Promise<SendOutcome[]> {
	// Called unbound: workerd refuses fetch invoked as a method of another object.
	const fetchFn = ctx.fetch;
	const all = (o: SendOutcome) => regids.map(() => o);
	const form = new URLSearchParams();
	for (const [key, value] of Object.entries(push.body)) form.set(key, typeof value === "string" ? value : JSON.stringify(value));
	form.set("registration_id", regids.join(","));
	let res: Response;
	try {
		res = await fetchFn(`${ctx.endpoints.xiaomi.send}/v3/message/regid`, {
			method: "POST",
			redirect: "manual",
			signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
			headers: {
				...push.headers,
				authorization: `key=${ctx.credentials.app_secret}`,
				"content-type": "application/x-www-form-urlencoded;charset=UTF-8",
			},
			body: form.toString(),
		});
	} catch (err) {
		return all(networkRetry("xiaomi", err));
	}
	const json = (await readJson(res)) as XiaomiResponse | undefined;
	const code = typeof json?.code === "number" ? json.code : typeof json?.code === "string" ? Number(json.code) : undefined;
	const detail = typeof json?.reason === "string" ? json.reason : typeof json?.description === "string" ? json.description : "";
	const reason = `xiaomi ${res.status} ${code ?? "no code"}${detail ? ` ${detail.slice(0, 200)}` : ""}`;

	if (isTransientStatus(res.status) || (code !== undefined && XIAOMI_CODES.retryable.has(code))) {
		const after = retryAfterSeconds(res.headers);
		return all(after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason });
	}
	// The app's daily quota is spent: not worth retrying today; counted quota_exceeded.
	if (code === XIAOMI_CODES.dailyQuota || code === XIAOMI_CODES.dayMessageLimit) return all({ kind: "quota_exceeded", reason });
	// 20301 is a generic "send failed": only its "No valid targets!" reason says the regids are gone.
	// Anything else under that code rejects this push and leaves the devices as they are.
	if (code === XIAOMI_CODES.allTargetsInvalid) {
		return all(/no valid targets/i.test(detail) ? { kind: "invalid_token", reason } : { kind: "rejected", reason });
	}
	if (res.ok && code === XIAOMI_CODES.success) {
		const id = json?.data?.id;
		const ok: SendOutcome = typeof id === "string" ? { kind: "ok", vendorId: id } : { kind: "ok" };
		const badRaw = json?.data?.bad_regids ?? json?.data?.bad_regIds;
		const bad = new Set(typeof badRaw === "string" ? badRaw.split(",").map((s) => s.trim()) : []);
		return regids.map((r) => (bad.has(r) ? { kind: "invalid_token", reason: "xiaomi bad_regids" } : ok));
	}
	return all({ kind: "rejected", reason });
}
