import { isTransientStatus, networkRetry, readJson, retryAfterSeconds, SendTokens, VENDOR_TIMEOUT_MS } from "../common.js";
import { AccessTokenRefused } from "../oauth.js";
import { sendInBatches, withVendorToken } from "../token-retry.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { VivoCredentials } from "./credentials.js";

/** `/message/pushToList`: regIds "2 ≤ 个数 ≤ 1000". */
export const VIVO_MAX_BATCH = 1000;

/**
 * vivo result codes. Where each comes from:
 *
 * - vivo push server API 2.9.2, "一.公共 1.推送超量说明" (mirrored at
 *   app.applebyme.cn/cloud/appshangjia/2017.html and yimenapp.com/kb-yimen/12123): 10070 "发送总量超出限制"
 *   and 10252 "批量发送消息体超出限制" are the daily quotas ("当天不要调用" the endpoint again), and
 *   10094 answers an appId that differs from the token's.
 * - vivo's Java server SDK (com.vivo.push.sdk.common.ExceptionStatusEnum, decompiled copies found by
 *   code search, repository not named by the index): REGID_INVALID 10302 "regId 不合法".
 * - pushToList's `invalidUsers` [{status, userid}]: status 1 (regId unknown) and 2 (app uninstalled)
 *   disable the device, the others (notifications off, long offline) refuse this message only.
 */
export const VIVO_CODES = {
	/** "请求成功". */
	success: 0,
	/**
	 * Refresh the authToken. unconfirmed: vivo's public return-code table could not be read here; the
	 * 2.9.2 document only says an authToken expires after a day ("过期后无法使用"), and 10000 as
	 * "authentication failed" is what integrations found by code search expect (an HTTP 401 refreshes too).
	 */
	authFailed: 10000,
	/** "发送总量超出限制": the day's total is spent, quota_exceeded. */
	dailyQuota: 10070,
	/** "批量发送消息体超出限制": the day's list payloads are spent, quota_exceeded. */
	batchQuota: 10252,
	/** "regId 不合法": the device is gone, invalid_token. */
	regIdInvalid: 10302,
} as const;
const GONE_STATUSES = new Set([1, 2]);

interface VivoAnswer {
	result?: unknown;
	desc?: unknown;
	taskId?: unknown;
	invalidUsers?: unknown;
}

/**
 * One target: `POST /message/send` (the payload plus regId and a unique requestId). Two or more:
 * `/message/saveListPayload` (the payload once, → taskId) then `/message/pushToList` {regIds,
 * taskId, requestId}, up to 1,000 regIds: two requests for a whole batch. Every request carries the
 * `authToken` header and the appId (v2.9: compared with the token's app, 10094 otherwise).
 */
export async function sendVivo(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<VivoCredentials>,
): Promise<SendOutcome[]> {
	const { message, silent } = push.body as { message: Record<string, unknown>; silent?: boolean };
	if (silent) return targets.map(() => ({ kind: "rejected", reason: "vivo has no data-only (silent) messages" }));
	const tokens = new SendTokens(ctx.tokens, "vivo");
	const requestBase = (message.clientCustomMap as { message_id?: string } | undefined)?.message_id ?? "warbler";
	return sendInBatches(targets, VIVO_MAX_BATCH, "no vivo regId", (regIds) =>
		regIds.length === 1
			? sendSingle(message, regIds[0] as string, requestBase, ctx, tokens)
			: sendList(message, regIds, requestBase, ctx, tokens),
	);
}

function requestId(base: string): string {
	// vivo refuses a requestId it has seen: unique per request, traceable to the message.
	return `${base}-${crypto.randomUUID()}`.slice(0, 64);
}

async function post(
	ctx: SendContext<VivoCredentials>,
	path: string,
	authToken: string,
	body: Record<string, unknown>,
): Promise<{ res: Response; json: VivoAnswer | undefined } | { error: unknown }> {
	const fetchFn = ctx.fetch;
	try {
		const res = await fetchFn(`${ctx.endpoints.vivo.send}${path}`, {
			method: "POST",
			redirect: "manual",
			signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
			headers: { authToken, "content-type": "application/json;charset=utf-8" },
			body: JSON.stringify({ appId: ctx.credentials.app_id, ...body }),
		});
		return { res, json: (await readJson(res)) as VivoAnswer | undefined };
	} catch (error) {
		return { error };
	}
}

/** The request-level verdict shared by every vivo endpoint, or undefined when it succeeded. */
function verdict(res: Response, json: VivoAnswer | undefined): SendOutcome | AccessTokenRefused | undefined {
	const result = typeof json?.result === "number" ? json.result : undefined;
	const desc = typeof json?.desc === "string" ? ` ${json.desc.slice(0, 200)}` : "";
	const reason = `vivo ${res.status} ${result ?? "no code"}${desc}`;
	if (result === VIVO_CODES.authFailed || res.status === 401) return new AccessTokenRefused(reason);
	if (result === VIVO_CODES.dailyQuota || result === VIVO_CODES.batchQuota) return { kind: "quota_exceeded", reason };
	if (isTransientStatus(res.status)) {
		const after = retryAfterSeconds(res.headers);
		return after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason };
	}
	if (result === VIVO_CODES.regIdInvalid) return { kind: "invalid_token", reason };
	if (!res.ok || result !== VIVO_CODES.success) return { kind: "rejected", reason };
	return undefined;
}

async function sendSingle(
	message: Record<string, unknown>,
	regId: string,
	base: string,
	ctx: SendContext<VivoCredentials>,
	tokens: SendTokens,
): Promise<SendOutcome[]> {
	return withVendorToken(
		"vivo",
		tokens,
		async (authToken) => {
			const r = await post(ctx, "/message/send", authToken, {
				...message,
				regId,
				requestId: requestId(base),
				pushMode: ctx.credentials.test_mode ? 1 : 0,
			});
			if ("error" in r) return [networkRetry("vivo", r.error)];
			const v = verdict(r.res, r.json);
			if (v instanceof AccessTokenRefused) return v;
			if (v) return [v];
			return [typeof r.json?.taskId === "string" ? { kind: "ok", vendorId: r.json.taskId } : { kind: "ok" }];
		},
		(o) => [o],
	);
}

async function sendList(
	message: Record<string, unknown>,
	regIds: string[],
	base: string,
	ctx: SendContext<VivoCredentials>,
	tokens: SendTokens,
): Promise<SendOutcome[]> {
	const all = (o: SendOutcome) => regIds.map(() => o);
	return withVendorToken(
		"vivo",
		tokens,
		async (authToken) => {
			const saved = await post(ctx, "/message/saveListPayload", authToken, {
				...message,
				requestId: requestId(base),
				pushMode: ctx.credentials.test_mode ? 1 : 0,
			});
			if ("error" in saved) return all(networkRetry("vivo", saved.error));
			const savedVerdict = verdict(saved.res, saved.json);
			if (savedVerdict instanceof AccessTokenRefused) return savedVerdict;
			if (savedVerdict) return all(savedVerdict);
			const taskId = saved.json?.taskId;
			if (typeof taskId !== "string" && typeof taskId !== "number") {
				return all({ kind: "retry", reason: "vivo saveListPayload answered without a taskId" });
			}
			const pushed = await post(ctx, "/message/pushToList", authToken, {
				regIds,
				taskId: String(taskId),
				requestId: requestId(base),
				pushMode: ctx.credentials.test_mode ? 1 : 0,
			});
			if ("error" in pushed) return all(networkRetry("vivo", pushed.error));
			const v = verdict(pushed.res, pushed.json);
			if (v instanceof AccessTokenRefused) return v;
			if (v) return all(v);
			const invalid = new Map<string, number>();
			if (Array.isArray(pushed.json?.invalidUsers)) {
				for (const u of pushed.json.invalidUsers as { status?: unknown; userid?: unknown }[]) {
					if (typeof u?.userid === "string") invalid.set(u.userid, typeof u.status === "number" ? u.status : 0);
				}
			}
			const ok: SendOutcome = { kind: "ok", vendorId: String(taskId) };
			return regIds.map((r): SendOutcome => {
				const status = invalid.get(r);
				if (status === undefined) return ok;
				return GONE_STATUSES.has(status)
					? { kind: "invalid_token", reason: `vivo invalidUsers status ${status}` }
					: { kind: "rejected", reason: `vivo invalidUsers status ${status}` };
			});
		},
		all,
	);
}
