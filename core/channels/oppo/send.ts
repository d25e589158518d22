import { isTransientStatus, networkRetry, readJson, retryAfterSeconds, SendTokens, VENDOR_TIMEOUT_MS } from "../common.js";
import { AccessTokenRefused } from "../oauth.js";
import { chunks, withVendorToken } from "../token-retry.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome, VendorEndpoints } from "../types.js";
import type { OppoCredentials } from "./credentials.js";

/** `unicast_batch`: "messages … 最多1000个" (OPPO "批量单推接口"). */
export const OPPO_MAX_BATCH = 1000;

/**
 * OPPO return codes: public codes (调用地址，公共参数和返回码) and the per-target 10000 of 单点推送.
 * -1 service unavailable, -2 flow control: retry; 11 invalid auth_token: refresh; 13 app call
 * limited: retry in an hour; 33 daily message limit reached: quota; 10000 invalid registration_id.
 */
export const OPPO_CODES = {
	success: 0,
	unavailable: -1,
	flowControl: -2,
	invalidAuthToken: 11,
	callLimited: 13,
	dailyLimit: 33,
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
			if (isTransientStatus(res.status) || code === OPPO_CODES.unavailable || code === OPPO_CODES.flowControl) {
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
		if (errorCode === OPPO_CODES.dailyLimit) return { kind: "quota_exceeded", reason: "oppo 33 daily limit" };
		if (errorCode !== undefined) return { kind: "rejected", reason: `oppo errorCode ${errorCode}` };
		return typeof e.messageId === "string" ? { kind: "ok", vendorId: e.messageId } : { kind: "ok" };
	});
}
