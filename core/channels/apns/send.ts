import { mapBounded } from "../../util/bounded.js";
import {
	authFailure,
	isTransientStatus,
	networkRetry,
	readJson,
	retryAfterSeconds,
	SendTokens,
	staleTokenRetry,
	VENDOR_CONCURRENCY,
	VENDOR_TIMEOUT_MS,
} from "../common.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { ApnsCredentials } from "./credentials.js";

/** Apple's reasons that mean the device token will never work for this app again. */
const INVALID_TOKEN_REASONS = new Set(["BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "ExpiredToken"]);

/**
 * Sends one request per target (`POST /3/device/{token}`). 410 Unregistered and the bad-token
 * reasons disable the device; 429/500/503 retry (Retry-After honoured); 403 ExpiredProviderToken
 * refreshes the provider token once per call and retries inline (retry later when the
 * token cache has nothing newer yet); anything else is rejected.
 */
export async function sendApns(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<ApnsCredentials>,
): Promise<SendOutcome[]> {
	// Called unbound: workerd refuses fetch invoked as a method of another object.
	const fetchFn = ctx.fetch;
	const base = ctx.endpoints.apns[ctx.credentials.environment];
	const tokens = new SendTokens(ctx.tokens, "apns");
	const body = JSON.stringify(push.body);

	return mapBounded(targets, VENDOR_CONCURRENCY, async (target) => {
		if (!target.token) return { kind: "invalid_token", reason: "no APNs device token" };
		let jwt: string;
		try {
			jwt = await tokens.get();
		} catch (err) {
			return authFailure("apns", err);
		}
		for (let attempt = 0; ; attempt++) {
			let res: Response;
			try {
				res = await fetchFn(`${base}/3/device/${encodeURIComponent(target.token)}`, {
					method: "POST",
					redirect: "manual",
					signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
					headers: { ...push.headers, authorization: `bearer ${jwt}`, "content-type": "application/json" },
					body,
				});
			} catch (err) {
				return networkRetry("apns", err);
			}
			if (res.status === 200) {
				await res.body?.cancel();
				const id = res.headers.get("apns-id");
				return id ? { kind: "ok", vendorId: id } : { kind: "ok" };
			}
			const reason = apnsReason(await readJson(res));
			const outcome = classifyApns(res.status, reason, res.headers);
			if (outcome !== "refresh") return outcome;
			if (attempt > 0) return { kind: "rejected", reason: `apns 403 ${reason} after a fresh provider token` };
			let fresh: string | undefined;
			try {
				fresh = await tokens.refresh(jwt);
			} catch (err) {
				return authFailure("apns", err);
			}
			if (!fresh) return staleTokenRetry("apns", `apns 403 ${reason}`);
			jwt = fresh;
		}
	});
}

function apnsReason(json: unknown): string {
	const reason = (json as { reason?: unknown } | undefined)?.reason;
	return typeof reason === "string" ? reason : "unknown";
}

/** Apple's status + reason → outcome; "refresh" = the provider token expired. */
export function classifyApns(status: number, reason: string, headers: Headers): SendOutcome | "refresh" {
	if (status === 410 || INVALID_TOKEN_REASONS.has(reason)) return { kind: "invalid_token", reason: `apns ${status} ${reason}` };
	if (status === 403 && reason === "ExpiredProviderToken") return "refresh";
	if (isTransientStatus(status)) {
		const after = retryAfterSeconds(headers);
		return after === undefined
			? { kind: "retry", reason: `apns ${status} ${reason}` }
			: { kind: "retry", afterSeconds: after, reason: `apns ${status} ${reason}` };
	}
	return { kind: "rejected", reason: `apns ${status} ${reason}` };
}
