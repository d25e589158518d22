import { isTransientStatus, networkRetry, readJson, retryAfterSeconds, VENDOR_TIMEOUT_MS } from "../common.js";
import { md5Hex } from "../md5.js";
import { sendInBatches } from "../token-retry.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { MeizuCredentials } from "./credentials.js";

/**
 * pushByPushId: "推送设备，一批最多不能超过100个" (MEIZUPUSH/PushAPI README, lowered from 1,000 to 100 in
 * commit afe9ff0, 2023-08-21 "修改单次提交推送目标数上限为100").
 */
export const MEIZU_MAX_PUSH_IDS = 100;
/**
 * A queue job takes up to this many Meizu devices and sends them 100 per request, a few requests at
 * once: a job per 100 devices would pay a job's reads and ledger write ten times as often.
 */
export const MEIZU_JOB_PUSH_IDS = 1000;
const MEIZU_PARALLEL_REQUESTS = 4;

/**
 * Flyme result codes, all strings. Sources: MEIZUPUSH/PushAPI README (commit a39667d, 2025-04-09):
 * "Api returnCode定义" for the answer's `code` and "map部分code定义" for the codes keying `value` (the
 * pushIds a 200 answer did not take); Meizu's Java server SDK MEIZUPUSH/JavaSdk (commit eb58cc1)
 * constant/ErrorCode.java and constant/PushResponseCode.java, which add 518 "推送超过配置的速率
 * (rsp_speed_limit)"; MEIZUPUSH/node-sdk README "返回码含义" (2017). The same number can mean two
 * things: as `code`, 110010 is "应用推送速率过快" (its README example "超速情况"); keying `value` it is
 * "pushId失效(消息开关关闭)".
 */
export const MEIZU_CODES = {
	/** "正常". */
	ok: "200",
	/**
	 * The answer's `code`, retry: 1001 系统错误, 1003 服务器忙, 110010 应用推送速率过快, and the SDK's
	 * 501 db_error, 513 internal error, 518 speed limit, 519 服务过载. (500 "其他异常" is not here: the
	 * README's own examples use it for refused requests, so it is rejected unless the HTTP status is 5xx.)
	 */
	retry: new Set(["501", "513", "518", "519", "1001", "1003", "110010"]),
	/**
	 * The answer's `code`, quota_exceeded: 110019 "超过该应用每天推送次数限制", 110051 "超过该应用的次数限制",
	 * 110053 "透传超过限制".
	 */
	quota: new Set(["110019", "110051", "110053"]),
	/** The answer's `code` or a `value` key, invalid_token: 110002 "pushId未注册/未订阅", 110003 "pushId非法". */
	gone: new Set(["110002", "110003"]),
	/** `value` keys, retry these pushIds: 501 (db_error), 513 推送消息失败, 519 推送消息失败服务过载. */
	targetRetry: new Set(["501", "513", "519"]),
	/** `value` key, quota_exceeded: 110011 "单日公信消息数超过限制" (the day's public-message quota). */
	targetQuota: "110011",
	/**
	 * Other `value` keys are rejected for this message only: 201 没有权限, 520 消息折叠 (the same device got
	 * this app's messages too often within a minute), 110010 消息开关关闭 (the user may switch it back on).
	 */
	folded: "520",
} as const;

/**
 * Flyme's signature: md5 of every parameter as `k=v`, keys sorted, concatenated without separator,
 * then the App Secret (MEIZUPUSH node-sdk lib/request.js "Meizu api signature algorithm").
 */
export function meizuSign(params: Record<string, string>, appSecret: string): string {
	const keys = Object.keys(params).sort();
	return md5Hex(keys.map((k) => `${k}=${params[k]}`).join("") + appSecret);
}

/**
 * `POST /garcia/api/server/push/varnished/pushByPushId` (notifications) or `…/unvarnished/…`
 * (pass-through), form appId, pushIds, messageJson and sign. No access token: every request is
 * signed with the App Secret.
 */
export async function sendMeizu(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<MeizuCredentials>,
): Promise<SendOutcome[]> {
	return sendInBatches(
		targets,
		MEIZU_MAX_PUSH_IDS,
		"no Meizu pushId",
		(batch) => sendBatch(push, batch, ctx),
		MEIZU_PARALLEL_REQUESTS,
	);
}

async function sendBatch(push: RenderedPush, pushIds: string[], ctx: SendContext<MeizuCredentials>): Promise<SendOutcome[]> {
	const fetchFn = ctx.fetch;
	const all = (o: SendOutcome) => pushIds.map(() => o);
	const { messageJson, silent } = push.body as { messageJson: unknown; silent?: boolean };
	const params: Record<string, string> = {
		appId: ctx.credentials.app_id,
		pushIds: pushIds.join(","),
		messageJson: JSON.stringify(messageJson),
	};
	const form = new URLSearchParams({ ...params, sign: meizuSign(params, ctx.credentials.app_secret) });
	const kind = silent ? "unvarnished" : "varnished";
	let res: Response;
	try {
		res = await fetchFn(`${ctx.endpoints.meizu.send}/garcia/api/server/push/${kind}/pushByPushId`, {
			method: "POST",
			redirect: "manual",
			signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
			headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
			body: form.toString(),
		});
	} catch (err) {
		return all(networkRetry("meizu", err));
	}
	const json = (await readJson(res)) as { code?: unknown; message?: unknown; value?: unknown } | undefined;
	const code = typeof json?.code === "string" || typeof json?.code === "number" ? String(json.code) : undefined;
	const detail = typeof json?.message === "string" && json.message ? ` ${json.message.slice(0, 200)}` : "";
	const reason = `meizu ${res.status} ${code ?? "no code"}${detail}`;
	if (isTransientStatus(res.status) || (code !== undefined && MEIZU_CODES.retry.has(code))) {
		const after = retryAfterSeconds(res.headers);
		return all(after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason });
	}
	if (code !== undefined && MEIZU_CODES.quota.has(code)) return all({ kind: "quota_exceeded", reason });
	if (code !== undefined && MEIZU_CODES.gone.has(code)) return all({ kind: "invalid_token", reason });
	if (!res.ok || code !== MEIZU_CODES.ok) return all({ kind: "rejected", reason });
	// value: {"110002": ["pushId", …], "520": […]} for the pushIds it did not take.
	const refused = new Map<string, string>();
	if (json?.value && typeof json.value === "object" && !Array.isArray(json.value)) {
		for (const [c, ids] of Object.entries(json.value as Record<string, unknown>)) {
			if (Array.isArray(ids)) for (const id of ids) if (typeof id === "string") refused.set(id, c);
		}
	}
	return pushIds.map((id): SendOutcome => {
		const c = refused.get(id);
		if (c === undefined) return { kind: "ok" };
		const why = `meizu ${c}`;
		if (MEIZU_CODES.gone.has(c)) return { kind: "invalid_token", reason: why };
		if (MEIZU_CODES.targetRetry.has(c)) return { kind: "retry", reason: why };
		if (c === MEIZU_CODES.targetQuota) return { kind: "quota_exceeded", reason: why };
		return { kind: "rejected", reason: why };
	});
}
