import { isTransientStatus, retryAfterSeconds, SendTokens } from "../common.js";
import { AccessTokenRefused, postWithAccessToken } from "../oauth.js";
import { sendInBatches } from "../token-retry.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { HonorCredentials } from "./credentials.js";

/** Up to 1,000 tokens per `sendMessage`, as Push Kit. */
export const HONOR_MAX_TOKENS = 1000;

/**
 * Honor Push result codes. Honor's send API and token endpoint are confirmed from Honor's "发送下行消息"
 * guide; its own response-code table ("下行消息响应码") could not be read here. unconfirmed for Honor:
 * the 8xxxxxxx codes follow the Push Kit scheme Honor's API inherited, as Huawei's official demo lists them
 * (HMS-Core/hms-push-serverdemo-java src/main/java/com/huawei/push/util/ResponceCodeProcesser.java,
 * commit 63d96ae) and HMS-Core's FAQ on send errors (segmentfault.com/a/1190000042188975) explains
 * them. Success is Honor's `code: 200` with `data.failTokens` / `data.expireTokens`.
 *
 * Honor documents no daily-quota code that could be found. 80300011, once assumed to be one, is
 * "No permission to send high-level notification messages" in that scheme: a rejection. So no Honor
 * answer counts quota_exceeded; an unknown code is rejected.
 */
export const HONOR_CODES = {
	/** Honor's success code (sendMessage answers `{code: 200, message: "success", data}`). */
	success: 200,
	/** Push Kit "Oauth authentication error": refresh the access token. */
	authFailed: 80200001,
	/** Push Kit "Oauth Token expired": refresh the access token. */
	tokenExpired: 80200003,
	/** Push Kit "Invalid Token" (every token of the request): the devices are gone, invalid_token. */
	allTokensInvalid: 80300007,
	/** Push Kit "No permission to send high-level notification messages": rejected (not a quota). */
	noHighLevelPermission: 80300011,
	/** Push Kit "System inner error": retry. */
	internalError: 81000001,
} as const;

interface HonorAnswer {
	code?: unknown;
	message?: unknown;
	data?: { sendResult?: unknown; requestId?: unknown; failTokens?: unknown; expireTokens?: unknown };
}

/**
 * `POST /api/v1/{appId}/sendMessage` with `Authorization: Bearer <token>` and a `timestamp` header
 * (epoch ms), the rendered body plus `token` (≤ 1,000). `expireTokens` are gone (device disabled);
 * `failTokens` were refused for this message.
 */
export async function sendHonor(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<HonorCredentials>,
): Promise<SendOutcome[]> {
	const tokens = new SendTokens(ctx.tokens, "honor");
	return sendInBatches(targets, HONOR_MAX_TOKENS, "no Honor push token", (batch) => sendBatch(push, batch, ctx, tokens));
}

const asNumber = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined);
const stringList = (v: unknown) => new Set(Array.isArray(v) ? v.filter((t): t is string => typeof t === "string") : []);

async function sendBatch(
	push: RenderedPush,
	batch: string[],
	ctx: SendContext<HonorCredentials>,
	tokens: SendTokens,
): Promise<SendOutcome[]> {
	const all = (o: SendOutcome) => batch.map(() => o);
	const url = `${ctx.endpoints.honor.send}/api/v1/${encodeURIComponent(ctx.credentials.app_id)}/sendMessage`;
	const body = JSON.stringify({ ...push.body, token: batch });
	return postWithAccessToken(
		{ channel: "honor", url, body, headers: { ...push.headers, timestamp: String(Date.now()) }, tokens, fetch: ctx.fetch },
		(res, raw): SendOutcome[] | AccessTokenRefused => {
			const json = raw as HonorAnswer | undefined;
			const code = asNumber(json?.code);
			const detail = typeof json?.message === "string" ? ` ${json.message.slice(0, 200)}` : "";
			const reason = `honor ${res.status} ${code ?? "no code"}${detail}`;
			if (res.status === 401 || code === HONOR_CODES.authFailed || code === HONOR_CODES.tokenExpired) {
				return new AccessTokenRefused(reason);
			}
			if (isTransientStatus(res.status) || code === HONOR_CODES.internalError) {
				const after = retryAfterSeconds(res.headers);
				return all(after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason });
			}
			if (code === HONOR_CODES.allTokensInvalid) return all({ kind: "invalid_token", reason });
			if (!res.ok || code !== HONOR_CODES.success) return all({ kind: "rejected", reason });
			const requestId = typeof json?.data?.requestId === "string" ? json.data.requestId : undefined;
			const ok: SendOutcome = requestId ? { kind: "ok", vendorId: requestId } : { kind: "ok" };
			const expired = stringList(json?.data?.expireTokens);
			const failed = stringList(json?.data?.failTokens);
			return batch.map((t): SendOutcome => {
				if (expired.has(t)) return { kind: "invalid_token", reason: "honor expireTokens" };
				if (failed.has(t)) return { kind: "rejected", reason: "honor failTokens" };
				return ok;
			});
		},
		all,
	);
}
