import { isTransientStatus, retryAfterSeconds, SendTokens } from "../common.js";
import { AccessTokenRefused, postWithAccessToken } from "../oauth.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { HmsCredentials } from "./credentials.js";

export const HMS_MAX_TOKENS = 1000;

/** Push Kit result codes (Huawei, "Downlink Message Sending API: Result codes"). */
export const HMS_CODES = {
	success: "80000000",
	partial: "80100000",
	authFailed: "80200001",
	tokenExpired: "80200003",
	allTokensInvalid: "80300007",
	internalError: "81000001",
} as const;

interface HmsResponse {
	code?: unknown;
	msg?: unknown;
	requestId?: unknown;
}

/**
 * One request per batch of up to 1,000 tokens. 80000000: all sent; 80100000: the tokens listed in
 * `msg.illegal_tokens` are disabled, the rest sent; 80300007: every token is invalid;
 * 80200003/80200001 or HTTP 401: refresh the access token once and resend (retry later when the cache has nothing newer); 429/5xx and 81000001
 * retry (Retry-After honoured); any other code rejects the batch.
 */
export async function sendHms(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<HmsCredentials>,
): Promise<SendOutcome[]> {
	const outcomes = new Array<SendOutcome>(targets.length);
	const withToken: number[] = [];
	targets.forEach((t, i) => {
		if (t.token) withToken.push(i);
		else outcomes[i] = { kind: "invalid_token", reason: "no HMS push token" };
	});
	const tokens = new SendTokens(ctx.tokens, "hms");
	for (let start = 0; start < withToken.length; start += HMS_MAX_TOKENS) {
		const indexes = withToken.slice(start, start + HMS_MAX_TOKENS);
		const batch = indexes.map((i) => targets[i]?.token as string);
		const results = await sendBatch(push, batch, ctx, tokens);
		indexes.forEach((targetIndex, j) => {
			outcomes[targetIndex] = results[j] as SendOutcome;
		});
	}
	return outcomes;
}

async function sendBatch(
	push: RenderedPush,
	batch: string[],
	ctx: SendContext<HmsCredentials>,
	tokens: SendTokens,
): Promise<SendOutcome[]> {
	const all = (o: SendOutcome) => batch.map(() => o);
	const url = `${ctx.endpoints.hms.send}/v1/${encodeURIComponent(ctx.credentials.app_id)}/messages:send`;
	const message = (push.body as { message: Record<string, unknown> }).message;
	const body = JSON.stringify({ ...push.body, message: { ...message, token: batch } });
	return postWithAccessToken(
		{ channel: "hms", url, body, headers: push.headers, tokens, fetch: ctx.fetch },
		(res, raw): SendOutcome[] | AccessTokenRefused => {
			const json = raw as HmsResponse | undefined;
			const code = typeof json?.code === "string" || typeof json?.code === "number" ? String(json.code) : undefined;
			const reason = `hms ${res.status} ${code ?? "no code"}`;
			if (res.status === 401 || code === HMS_CODES.tokenExpired || code === HMS_CODES.authFailed) {
				return new AccessTokenRefused(reason);
			}
			if (isTransientStatus(res.status) || code === HMS_CODES.internalError) {
				const after = retryAfterSeconds(res.headers);
				return all(after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason });
			}
			const requestId = typeof json?.requestId === "string" ? json.requestId : undefined;
			const ok: SendOutcome = requestId ? { kind: "ok", vendorId: requestId } : { kind: "ok" };
			if (res.ok && code === HMS_CODES.success) return all(ok);
			if (code === HMS_CODES.allTokensInvalid) return all({ kind: "invalid_token", reason: `hms ${code} all tokens invalid` });
			if (code === HMS_CODES.partial) {
				const illegal = new Set(illegalTokens(json?.msg));
				return batch.map((t) => (illegal.has(t) ? { kind: "invalid_token", reason: `hms ${code} illegal token` } : ok));
			}
			return all({ kind: "rejected", reason: typeof json?.msg === "string" ? `${reason} ${json.msg.slice(0, 200)}` : reason });
		},
		all,
	);
}

/** `msg` of a partial success is itself JSON: {"success":n,"failure":m,"illegal_tokens":[…]}. */
export function illegalTokens(msg: unknown): string[] {
	let parsed: unknown = msg;
	if (typeof msg === "string") {
		try {
			parsed = JSON.parse(msg);
		} catch {
			return [];
		}
	}
	const list = (parsed as { illegal_tokens?: unknown } | null)?.illegal_tokens;
	return Array.isArray(list) ? list.filter((t): t is string => typeof t === "string") : [];
}
