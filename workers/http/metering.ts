import type { MiddlewareHandler } from "hono";
import { countLater } from "../../core/metering/batch.js";
import type { PolicyState } from "../../core/metering/buckets.js";
import { quotaExceeded, sendQuotas } from "../../core/metering/sends.js";
import type { AdmitInput, AdmitResult } from "../../core/metering/types.js";
import { meterFor } from "../../core/objects/meter.js";
import type { HonoEnv } from "./context.js";
import { AppError, errorResponse } from "./errors.js";
import { rateLimitHeaders } from "./ratelimit-headers.js";

/**
 * Rate limits and usage counting for every app-key request: one call to the app's meter
 * (durable-objects/meter/app-meter.ts), which takes a token from the key's and the app's bucket,
 * counts the request for usage and, for `POST /v1/messages`, counts the message against the monthly
 * quota. An app whose plan decides nothing is not kept waiting and costs no call per request: its
 * counts are batched per isolate (core/metering/batch.ts) and handed over after the answer.
 *
 * Headers (draft-ietf-httpapi-ratelimit-headers, plus the older trio many clients read) name the
 * tighter policy: `RateLimit-Policy: "per-key";q=10;w=1`, `RateLimit: "per-key";r=3;t=1`,
 * `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`; a 429 also carries `Retry-After`.
 */
export const meterRequests: MiddlewareHandler<HonoEnv> = async (c, next) => {
	const caller = c.get("caller");
	const limits = caller.app?.plan?.limits;
	const isSend = c.req.method === "POST" && c.req.path === "/v1/messages";
	const input: AdmitInput = {
		appId: caller.appId,
		keyId: caller.actor,
		now: Date.now(),
		request: true,
		perKey: limits?.api_requests_per_second_per_key,
		perApp: limits?.api_requests_per_second_per_app,
		send: isSend ? sendQuotas(limits) : undefined,
	};
	const meter = meterFor(c.env, caller.appId);
	const s = input.send;
	const decides =
		input.perKey !== undefined ||
		input.perApp !== undefined ||
		(s !== undefined && (s.messagesMax ?? s.deliveriesMax ?? s.mauMax) !== undefined);
	let result: AdmitResult | undefined;
	if (decides) {
		try {
			result = await meter.admit(input);
		} catch (err) {
			// The meter unreachable: serve the request (limits are protection, not correctness).
			console.error(`meter unreachable for ${caller.appId}: ${err instanceof Error ? err.message : String(err)}`);
		}
	} else {
		countLater(c.env, caller.appId, 1, isSend ? 1 : 0, (p) => c.executionCtx.waitUntil(p));
	}
	if (result && !result.ok) {
		const error =
			result.reason === "rate_limited"
				? new AppError(
						"rate_limited",
						"Too many requests; retry after the number of seconds in Retry-After.",
						undefined,
						result.retryAfter,
					)
				: quotaExceeded(result);
		return withPolicies(errorResponse(error), result.policies);
	}
	await next();
	if (result) withPolicies(c.res, result.policies);
	// Only a 202 accepted a message: anything else (invalid, a replay, a failure) gives it back.
	if (isSend && c.res.status !== 202 && (result || !decides)) {
		if (result) c.executionCtx.waitUntil(meter.refund(input.now, 1).catch(() => undefined));
		else countLater(c.env, caller.appId, 0, -1, (p) => c.executionCtx.waitUntil(p));
	}
};

/** Sets the RateLimit headers of the policies on a response. */
function withPolicies(res: Response, policies: PolicyState[]): Response {
	if (policies.length === 0) return res;
	for (const [k, v] of Object.entries(rateLimitHeaders(policies))) res.headers.set(k, v);
	return res;
}
