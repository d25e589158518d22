import { chunks } from "../../util/chunks.js";
import { isTransientStatus, networkRetry, readJson, retryAfterSeconds, SendTokens, VENDOR_TIMEOUT_MS } from "../common.js";
import { AccessTokenRefused } from "../oauth.js";
import { withVendorToken } from "../token-retry.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome, VendorEndpoints } from "../types.js";
import type { OppoCredentials } from "./credentials.js";

/** `unicast_batch`: "messages … 最多1000个" (OPPO "批量单推接口"). */
export const OPPO_MAX_BATCH = 1000;

/**
 * OPPO return codes. Where each comes from:
 *
 * - OPPO开放平台 "调用地址，公共参数和返回码" (open.oppomobile.com developmentDoc; a copy of the page
 *   found by code search, repository not named by the index) and OPPO's own Java server SDK
 *   (opush-server-sdk-1.1.0, com.oppo.push.server.ReturnCode.ErrorCode, decompiled copies found by
 *   code search): the public codes below; the others (12 … 67: bad request, app disabled, no
 *   permission, …) are rejected. The SDK re-mints the auth_token and repeats the call on 11 and on
 *   nothing else (HttpClientTool.httpPostWithToken).
 * - The same site's "单推接口 / 批量单推接口": business code 10000 "Invalid Registration_id"
 *   (registration_id格式不正确), answered as the request's `code` by a single push and as a target's
 *   `errorCode` in a batch's `data`.
 */
export const OPPO_CODES = {
	/** "Success". */
	success: 0,
	/** "Service Currently Unavailable" (服务不可用，此时请开发者稍候再试): retry. */
	unavailable: -1,
	/** "Service in Flow Control" (服务器流量控制): retry. */
	flowControl: -2,
	/** "Invalid AuthToken" (不合法的AuthToken): refresh the token once, as OPPO's SDK does. */
	invalidAuthToken: 11,
	/** "App Call Limited" (应用调用次数超限，包含调用频率超限): count or rate; retried in an hour. */
	callLimited: 13,
	/** "The number of messages exceeds the daily limit" (消息条数超过日限额): quota_exceeded. */
	dailyLimit: 33,
	/** "App Call Frequency Limit" (应用访问频率限制): flow control, retry. */
	callFrequencyLimit: 55,
	/** "Invalid Registration_id" (registration_id格式不正确): the device is gone, invalid_token. */
	invalidRegistrationId: 10000,
} as const;

/**
 * OPPO registration ids name their region: `<id>` or `CN_<id>` or `OPPO_CN_<id>` are domestic,
 * any other region goes to the international host ("如何区分国内设备").
 */
export function oppoHost(regId: string, endpoints: VendorEndpoints): string {
	const parts = regId.split("_");
	const region = parts.length === 2 ? parts[0] : parts.length === 3 ? parts[1] : "CN";
	return region?.toUpperCase() === "CN" ? endpoints.oppo.send : endpoints.oppo.intl;
}

interface OppoAnswer {
	code?: unknown;
	message?: unknown;
	data?: unknown;
}

/**
 * `POST /server/v1/message/notification/unicast_batch`, form `auth_token` + `messages` (JSON array
 * of {target_type: 2, target_value: regid, notification}), up to 1,000 per request, one request per
 * host. The answer's `data` lists each target's messageId, or errorCode (10000: invalid regid).
 */
export async function sendOppo(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<OppoCredentials>,
): Promise<SendOutcome[]> {
	const outcomes = new Array<SendOutcome>(targets.length);
	if ((push.body as { silent?: boolean }).silent) {
		return targets.map(() => ({ kind: "rejected", reason: "oppo has no data-only (silent) messages" }));
	}
	const byHost = new Map<string, number[]>();
	targets.forEach((t, i) => {
		if (!t.token) {
			outcomes[i] = { kind: "invalid_token", reason: "no OPPO registration id" };
			return;
		}
		const host = oppoHost(t.token, ctx.endpoints);
		byHost.set(host, [...(byHost.get(host) ?? []), i]);
	});
	const tokens = new SendTokens(ctx.tokens, "oppo");
	for (const [host, indexes] of byHost) {
		for (const batch of chunks(indexes, OPPO_MAX_BATCH)) {
			const regIds = batch.map((i) => targets[i]?.token as string);
			const results = await sendBatch(host, push, regIds, ctx, tokens);
			batch.forEach((targetIndex, j) => {
				outcomes[targetIndex] = results[j] as SendOutcome;
			});
		}
	}
	return outcomes;
}

async function sendBatch(
	host: string,
	push: RenderedPush,
	regIds: string[],
	ctx: SendContext<OppoCredentials>,
	tokens: SendTokens,
): Promise<SendOutcome[]> {
	const fetchFn = ctx.fetch;
	const all = (o: SendOutcome) => regIds.map(() => o);
	const notification = (push.body as { notification: unknown }).notification;
	const messages = JSON.stringify(regIds.map((r) => ({ target_type: 2, target_value: r, notification })));
	return withVendorToken(
		"oppo",
		tokens,
		async (authToken): Promise<SendOutcome[] | AccessTokenRefused> => {
			let res: Response;
			try {
				res = await fetchFn(`${host}/server/v1/message/notification/unicast_batch`, {
					method: "POST",
					redirect: "manual",
					signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
					headers: { auth_token: authToken, "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
					body: new URLSearchParams({ auth_token: authToken, messages }).toString(),
				});
			} catch (err) {
				return all(networkRetry("oppo", err));
			}
			const json = (await readJson(res)) as OppoAnswer | undefined;
			const code = typeof json?.code === "number" ? json.code : undefined;
			const detail = typeof json?.message === "string" ? ` ${json.message.slice(0, 200)}` : "";
			const reason = `oppo ${res.status} ${code ?? "no code"}${detail}`;
			if (code === OPPO_CODES.invalidAuthToken) return new AccessTokenRefused(reason);
			if (code === OPPO_CODES.dailyLimit) return all({ kind: "quota_exceeded", reason });
			if (code === OPPO_CODES.callLimited) return all({ kind: "retry", afterSeconds: 3600, reason });
			const busy = code === OPPO_CODES.unavailable || code === OPPO_CODES.flowControl || code === OPPO_CODES.callFrequencyLimit;
			if (isTransientStatus(res.status) || busy) {
				const after = retryAfterSeconds(res.headers);
				return all(after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason });
			}
			if (code === OPPO_CODES.invalidRegistrationId) return all({ kind: "invalid_token", reason });
			if (!res.ok || code !== OPPO_CODES.success) return all({ kind: "rejected", reason });
			return perTarget(regIds, json?.data);
		},
		all,
	);
}

/** `data`: [{messageId, registrationId, errorCode?, errorMessage?}], matched by registration id. */
function perTarget(regIds: string[], data: unknown): SendOutcome[] {
	const byId = new Map<string, { messageId?: unknown; errorCode?: unknown }>();
	if (Array.isArray(data)) {
		for (const entry of data) {
			const e = entry as { registrationId?: unknown };
			if (typeof e?.registrationId === "string") byId.set(e.registrationId, entry);
		}
	}
	return regIds.map((r) => {
		const e = byId.get(r);
		if (!e) return { kind: "ok" };
		const errorCode = typeof e.errorCode === "number" ? e.errorCode : undefined;
		if (errorCode === OPPO_CODES.invalidRegistrationId)
			return { kind: "invalid_token", reason: "oppo 10000 invalid registration_id" };
		// unconfirmed: OPPO documents only 10000 per target; 33 is read the same way should it appear there.
		if (errorCode === OPPO_CODES.dailyLimit) return { kind: "quota_exceeded", reason: "oppo 33 daily limit" };
		if (errorCode !== undefined) return { kind: "rejected", reason: `oppo errorCode ${errorCode}` };
		return typeof e.messageId === "string" ? { kind: "ok", vendorId: e.messageId } : { kind: "ok" };
	});
}
