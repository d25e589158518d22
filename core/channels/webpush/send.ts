import { encryptNotification } from "@block65/webcrypto-web-push";
import { importJWK, SignJWT } from "jose";
import { mapBounded } from "../../util/bounded.js";
import { errorText } from "../../util/errors.js";
import { isTransientStatus, networkRetry, retryAfterSeconds, VENDOR_CONCURRENCY, VENDOR_TIMEOUT_MS } from "../common.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import { vapidJwk, type WebPushCredentials } from "./credentials.js";
import { checkWebPushEndpoint } from "./endpoint.js";

/** VAPID tokens may live up to 24 h (RFC 8292 §2); 12 h leaves room for clock skew. */
const VAPID_TTL_SECONDS = 12 * 60 * 60;

/**
 * Encrypts the plaintext for each subscription (aes128gcm, RFC 8291, padded to one 4,096-byte
 * record) and POSTs it with a VAPID `Authorization: vapid t=…, k=…` (RFC 8292), one JWT per push
 * service origin. 201/200/202: sent; 404/410: subscription gone; 413: rejected; 429/5xx: retry
 * (Retry-After honoured); other statuses are rejected.
 */
export async function sendWebPush(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<WebPushCredentials>,
): Promise<SendOutcome[]> {
	// Called unbound: workerd refuses fetch invoked as a method of another object.
	const fetchFn = ctx.fetch;
	const { public_key, private_key, subject } = ctx.credentials;
	if (!public_key || !private_key) return targets.map(() => ({ kind: "rejected", reason: "webpush VAPID keys missing" }));
	let key: CryptoKey | Uint8Array;
	try {
		key = await importJWK(vapidJwk(public_key, private_key), "ES256");
	} catch {
		return targets.map(() => ({ kind: "rejected", reason: "webpush VAPID private key does not import" }));
	}
	const plaintext = new TextEncoder().encode(JSON.stringify(push.body));
	const jwts = new Map<string, Promise<string>>();
	const vapidFor = (origin: string) => {
		let jwt = jwts.get(origin);
		if (!jwt) {
			const now = Math.floor(Date.now() / 1000);
			jwt = new SignJWT({ sub: subject })
				.setProtectedHeader({ typ: "JWT", alg: "ES256" })
				.setAudience(origin)
				.setExpirationTime(now + VAPID_TTL_SECONDS)
				.sign(key);
			jwts.set(origin, jwt);
		}
		return jwt;
	};

	return mapBounded(targets, VENDOR_CONCURRENCY, async (target): Promise<SendOutcome> => {
		const sub = target.subscription;
		if (!sub?.endpoint || !sub.keys?.p256dh || !sub.keys?.auth)
			return { kind: "invalid_token", reason: "no Web Push subscription" };
		const refused = checkWebPushEndpoint(sub.endpoint, ctx.endpoints.allowLocalWebPush, ctx.endpoints.webPushHosts);
		if (refused) return { kind: "rejected", reason: `webpush ${refused}` };
		let body: Uint8Array<ArrayBuffer>;
		try {
			body = await encryptNotification({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }, plaintext);
		} catch (err) {
			const message = errorText(err);
			if (/maximum/i.test(message)) return { kind: "rejected", reason: `webpush ${message}` };
			return { kind: "invalid_token", reason: `webpush subscription keys unusable: ${message}` };
		}
		const jwt = await vapidFor(new URL(sub.endpoint).origin);
		let res: Response;
		try {
			res = await fetchFn(sub.endpoint, {
				method: "POST",
				// Never followed: a 3xx is this endpoint's answer (a tenant-set URL must not lead elsewhere).
				redirect: "manual",
				signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
				headers: {
					...push.headers,
					authorization: `vapid t=${jwt}, k=${public_key}`,
					"content-encoding": "aes128gcm",
					"content-type": "application/octet-stream",
				},
				body,
			});
		} catch (err) {
			return networkRetry("webpush", err);
		}
		await res.body?.cancel();
		return classifyWebPush(res.status, res.headers);
	});
}

export function classifyWebPush(status: number, headers: Headers): SendOutcome {
	if (status === 200 || status === 201 || status === 202) {
		const location = headers.get("location");
		return location ? { kind: "ok", vendorId: location } : { kind: "ok" };
	}
	const reason = `webpush ${status}`;
	if (status === 404 || status === 410) return { kind: "invalid_token", reason };
	if (status === 413) return { kind: "rejected", reason: `${reason} payload too large` };
	if (isTransientStatus(status)) {
		const after = retryAfterSeconds(headers);
		return after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason };
	}
	return { kind: "rejected", reason };
}
