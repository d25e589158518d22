import { mapBounded } from "../../util/bounded.js";
import { isTransientStatus, retryAfterSeconds, SendTokens, VENDOR_CONCURRENCY } from "../common.js";
import { AccessTokenRefused, postWithAccessToken } from "../oauth.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { FcmCredentials } from "./credentials.js";

interface FcmErrorBody {
	error?: {
		code?: number;
		status?: string;
		message?: string;
		details?: { "@type"?: string; errorCode?: string; fieldViolations?: { field?: string; description?: string }[] }[];
	};
}

/**
 * One `messages:send` per token. UNREGISTERED / 404, SENDER_ID_MISMATCH and an invalid
 * `message.token` disable the device; 429 and 5xx retry (Retry-After honoured); 401 refreshes the
 * access token once per call and retries inline (retry later when the cache has nothing newer); anything else is rejected.
 */
export async function sendFcm(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<FcmCredentials>,
): Promise<SendOutcome[]> {
	const url = `${ctx.endpoints.fcm.send}/v1/projects/${encodeURIComponent(ctx.credentials.service_account.project_id)}/messages:send`;
	const tokens = new SendTokens(ctx.tokens, "fcm");
	const message = (push.body as { message: Record<string, unknown> }).message;

	return mapBounded(targets, VENDOR_CONCURRENCY, async (target): Promise<SendOutcome> => {
		if (!target.token) return { kind: "invalid_token", reason: "no FCM registration token" };
		const body = JSON.stringify({ ...push.body, message: { ...message, token: target.token } });
		return postWithAccessToken(
			{ channel: "fcm", url, body, headers: push.headers, tokens, fetch: ctx.fetch },
			(res, json) => {
				if (res.ok) {
					const name = (json as { name?: unknown } | undefined)?.name;
					return typeof name === "string" ? { kind: "ok", vendorId: name } : { kind: "ok" };
				}
				const outcome = classifyFcm(res.status, json as FcmErrorBody | undefined, res.headers);
				return outcome === "refresh" ? new AccessTokenRefused("fcm 401 UNAUTHENTICATED") : outcome;
			},
			(outcome) => outcome,
		);
	});
}

/** FCM's status + error body → outcome; "refresh" = the access token was refused. */
export function classifyFcm(status: number, json: FcmErrorBody | undefined, headers: Headers): SendOutcome | "refresh" {
	const err = json?.error;
	const fcmCode = err?.details?.find((d) => typeof d.errorCode === "string")?.errorCode;
	const code = fcmCode ?? err?.status ?? "UNKNOWN";
	const reason = `fcm ${status} ${code}`;
	const badToken = err?.details?.some((d) => d.fieldViolations?.some((v) => v.field === "message.token")) === true;
	if (status === 404 || code === "UNREGISTERED" || code === "SENDER_ID_MISMATCH" || (status === 400 && badToken)) {
		return { kind: "invalid_token", reason };
	}
	if (status === 401) return "refresh";
	if (isTransientStatus(status)) {
		const after = retryAfterSeconds(headers);
		return after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason };
	}
	return { kind: "rejected", reason };
}
