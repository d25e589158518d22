/**
 * Web Push, both sides: the simulator is the push service (RFC 8030 message delivery, RFC 8292 VAPID)
 * and the browser (it owns each subscription's P-256 key and auth secret, and decrypts the RFC 8291
 * aes128gcm body with http_ece, an implementation independent of the sender's).
 */
import { createECDH, createPublicKey, type ECDH, randomBytes } from "node:crypto";
import ece from "http_ece";
import { compactVerify, decodeProtectedHeader } from "jose";
import { faultDelay, PAYLOAD_LIMIT, retryAfter, type SimContext } from "./context.ts";
import { header, isObject, json, nowSeconds, randomToken, redactHeaders, type SimRequest, type SimResponse } from "./http.ts";
import type { Fault, Outcome } from "./state.ts";

const MAX_JWT_LIFETIME_SECONDS = 24 * 3600;
const CLOCK_SKEW_SECONDS = 60;
const URGENCIES = new Set(["very-low", "low", "normal", "high"]);
const TOPIC_RE = /^[A-Za-z0-9_-]{1,32}$/;

interface Subscription {
	id: string;
	ecdh: ECDH;
	auth: string;
	expired: boolean;
}

const problem = (status: number, error: string, message: string, headers?: Record<string, string>): SimResponse =>
	json(status, { code: status, error, message }, headers);

export function createWebPush(ctx: SimContext) {
	const subscriptions = new Map<string, Subscription>();
	const stats = () => ctx.state.stats.webpush;
	const endpointOf = (id: string) => `${ctx.baseUrl}/webpush/${id}`;

	/** `POST /__sim/webpush/subscriptions`: what `pushManager.subscribe()` would hand the app. */
	function subscribe(): SimResponse {
		const ecdh = createECDH("prime256v1");
		ecdh.generateKeys();
		const id = randomToken(16);
		const auth = randomBytes(16).toString("base64url");
		subscriptions.set(id, { id, ecdh, auth, expired: false });
		return json(201, {
			id,
			endpoint: endpointOf(id),
			expirationTime: null,
			keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth },
		});
	}

	/** `DELETE /__sim/webpush/subscriptions/{id}`: the user unsubscribed; later pushes get 410 Gone. */
	function unsubscribe(id: string): SimResponse {
		const sub = subscriptions.get(id);
		if (!sub) return problem(404, "Not Found", "unknown subscription");
		sub.expired = true;
		return { status: 204 };
	}

	/** Verifies `Authorization: vapid t=<jwt>, k=<key>` (RFC 8292 §3). */
	async function verifyVapid(req: SimRequest): Promise<SimResponse | { aud: string }> {
		const auth = header(req, "authorization");
		const challenge = { "www-authenticate": "vapid" };
		if (!auth || !/^vapid\s/i.test(auth)) return problem(401, "Unauthorized", "missing vapid authorization", challenge);
		const t = auth.match(/[\s,]t=([^,\s]+)/)?.[1];
		const k = auth.match(/[\s,]k=([^,\s]+)/)?.[1];
		if (!t || !k) return problem(401, "Unauthorized", "vapid authorization needs t= and k=", challenge);
		const forbidden = (message: string) => problem(403, "Forbidden", message);
		let claims: Record<string, unknown>;
		try {
			const raw = Buffer.from(k, "base64url");
			if (raw.length !== 65 || raw[0] !== 4) return forbidden("k is not an uncompressed P-256 public key");
			const key = createPublicKey({
				key: {
					kty: "EC",
					crv: "P-256",
					x: raw.subarray(1, 33).toString("base64url"),
					y: raw.subarray(33).toString("base64url"),
				},
				format: "jwk",
			});
			if (decodeProtectedHeader(t).alg !== "ES256") return forbidden("vapid JWT must be ES256");
			const { payload } = await compactVerify(t, key, { algorithms: ["ES256"] });
			const parsed: unknown = JSON.parse(new TextDecoder().decode(payload));
			if (!isObject(parsed)) return forbidden("vapid JWT claims are not an object");
			claims = parsed;
		} catch {
			return forbidden("vapid JWT signature does not verify with k");
		}
		const origin = new URL(ctx.baseUrl).origin;
		// Leniency for the local stack only: an https:// audience for the same host (senders that refuse http endpoints).
		const httpsAlias = origin.replace(/^http:/, "https:");
		if (claims.aud !== origin && claims.aud !== httpsAlias) return forbidden(`vapid aud must be ${origin}`);
		const exp = claims.exp;
		const now = nowSeconds();
		if (typeof exp !== "number" || exp <= now) return forbidden("vapid JWT expired");
		if (exp > now + MAX_JWT_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) return forbidden("vapid exp is more than 24 hours ahead");
		if (typeof claims.sub !== "string" || !/^(mailto:|https:)/.test(claims.sub))
			return forbidden("vapid sub must be a mailto: or https: URI");
		return { aud: claims.aud };
	}

	/** `POST /webpush/{id}`: a push message for a subscription. */
	async function push(req: SimRequest, id: string): Promise<SimResponse> {
		if (req.method !== "POST") return problem(405, "Method Not Allowed", "use POST");
		stats().requests++;
		let payload: string | null = null;
		const warnings: string[] = [];
		const finish = (response: SimResponse, outcome: Outcome): SimResponse => {
			ctx.state.record({
				channel: "webpush",
				token: id,
				endpoint: endpointOf(id),
				headers: redactHeaders(req.headers),
				payload,
				outcome,
				...(warnings.length ? { warnings } : {}),
			});
			return response;
		};
		const fail = (response: SimResponse, fault?: Fault): SimResponse => {
			const reason = (response.json as { error?: string } | undefined)?.error;
			return finish(response, {
				status: response.status,
				ok: false,
				...(reason ? { reason } : {}),
				...(fault ? { fault: fault.kind } : {}),
			});
		};

		const sub = subscriptions.get(id);
		if (id.startsWith("invalid-") || sub?.expired) return fail(problem(410, "Gone", "subscription expired or unsubscribed"));
		if (!sub) return fail(problem(404, "Not Found", "no such subscription"));

		const vapid = await verifyVapid(req);
		if (!("aud" in vapid)) {
			stats().auth_failures++;
			return fail(vapid);
		}
		const ttl = header(req, "ttl");
		if (ttl === undefined || !/^\d+$/.test(ttl))
			return fail(problem(400, "Bad Request", "TTL header is required (RFC 8030 §5.2)"));
		const urgency = header(req, "urgency");
		if (urgency !== undefined && !URGENCIES.has(urgency))
			return fail(problem(400, "Bad Request", "Urgency must be very-low, low, normal or high"));
		const topic = header(req, "topic");
		if (topic !== undefined && !TOPIC_RE.test(topic)) {
			return fail(problem(400, "Bad Request", "Topic must be at most 32 characters of the base64url alphabet"));
		}
		if (req.truncated || req.body.length > PAYLOAD_LIMIT)
			return fail(problem(413, "Payload Too Large", `body exceeds ${PAYLOAD_LIMIT} bytes`));
		if (req.body.length > 0) {
			const encoding = header(req, "content-encoding");
			if (encoding !== "aes128gcm")
				return fail(problem(415, "Unsupported Media Type", "Content-Encoding must be aes128gcm (RFC 8291)"));
			try {
				payload = ece.decrypt(req.body, { version: "aes128gcm", privateKey: sub.ecdh, authSecret: sub.auth }).toString("utf8");
			} catch (err) {
				return fail(
					problem(400, "Bad Request", `sim: the body does not decrypt for this subscription (${(err as Error).message})`),
				);
			}
		}

		const fault = ctx.state.takeFault("webpush", [id, endpointOf(id)]);
		await faultDelay(ctx, fault);
		if (fault) {
			switch (fault.kind) {
				case "slow":
					break;
				case "429":
				case "too_many_provider_token_updates":
					return fail(problem(429, "Too Many Requests", "rate limited", retryAfter(fault)), fault);
				case "500":
					return fail(problem(500, "Internal Server Error", "simulated failure", retryAfter(fault)), fault);
				case "503":
					return fail(problem(503, "Service Unavailable", "simulated failure", retryAfter(fault)), fault);
				case "410":
				case "unregistered":
					return fail(problem(410, "Gone", "subscription expired or unsubscribed"), fault);
				case "bad_token":
					return fail(problem(404, "Not Found", "no such subscription"), fault);
				case "auth":
					stats().auth_failures++;
					return fail(problem(403, "Forbidden", "vapid JWT rejected"), fault);
			}
		}
		if (vapid.aud !== new URL(ctx.baseUrl).origin)
			warnings.push(`vapid aud ${vapid.aud} accepted as an alias of the http origin`);
		return finish(
			{ status: 201, headers: { location: `${ctx.baseUrl}/webpush/messages/${randomToken(12)}`, ttl } },
			{ status: 201, ok: true, ...(fault ? { fault: fault.kind } : {}) },
		);
	}

	return { subscribe, unsubscribe, push };
}
