/**
 * APNs provider API (token-based auth), HTTP/1.1 instead of HTTP/2. `POST /3/device/{token}` with an
 * ES256 provider JWT, apns-* headers and a JSON body with an `aps` dictionary; answers and error
 * reasons as Apple documents them ("Handling notification responses from APNs").
 */
import { randomUUID } from "node:crypto";
import { compactVerify, decodeProtectedHeader } from "jose";
import { faultDelay, PAYLOAD_LIMIT, retryAfter, type SimContext } from "./context.ts";
import { header, isObject, json, nowSeconds, parseJson, redactHeaders, type SimRequest, type SimResponse } from "./http.ts";
import type { Fault, Outcome } from "./state.ts";

/** Apple: refresh the provider token no more than once every 20 minutes, no less than once every 60. */
const MIN_REFRESH_SECONDS = 20 * 60;
const MAX_TOKEN_AGE_SECONDS = 60 * 60;
const CLOCK_SKEW_SECONDS = 60;

const PUSH_TYPES = new Set([
	"alert",
	"background",
	"location",
	"voip",
	"complication",
	"fileprovider",
	"mdm",
	"liveactivity",
	"pushtotalk",
	"widgets",
	"controls",
]);
/** Topic suffix Apple requires for push types that do not use the bare bundle id. */
const TOPIC_SUFFIX: Record<string, string> = {
	voip: ".voip",
	complication: ".complication",
	fileprovider: ".pushkit.fileprovider",
	liveactivity: ".push-type.liveactivity",
	location: ".location-query",
	pushtotalk: ".voip-ptt",
	widgets: ".push-type.widgets",
	controls: ".push-type.controls",
};
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Device tokens are hex (32 bytes today; Apple says not to hard-code the length). */
const DEVICE_TOKEN_RE = /^[0-9a-f]{64,200}$/i;

interface ProviderKeyState {
	latestIat: number;
	seen: Set<string>;
	/** The simulator rejected this key's last token as expired/invalid: the next new token is a legitimate refresh. */
	refreshAllowed: boolean;
}

type AuthResult = { ok: true; jwt: string; keyState: ProviderKeyState; tooFast: boolean } | { ok: false; response: SimResponse };

export function createApns(ctx: SimContext) {
	const creds = ctx.keys.credentials.apns;
	const keys = new Map<string, ProviderKeyState>();
	/** Provider JWTs the simulator has declared expired (the "auth" fault): they stay expired. */
	const revoked = new Set<string>();
	const stats = () => ctx.state.stats.apns;

	const error = (status: number, reason: string, extra?: Record<string, unknown>, headers?: Record<string, string>) =>
		json(status, { reason, ...extra }, headers);

	async function authenticate(req: SimRequest): Promise<AuthResult> {
		const auth = header(req, "authorization");
		if (!auth) return { ok: false, response: error(403, "MissingProviderToken") };
		const match = auth.match(/^bearer\s+(\S+)$/i);
		const jwt = match?.[1];
		if (!jwt) return { ok: false, response: error(403, "InvalidProviderToken") };
		if (revoked.has(jwt)) return { ok: false, response: error(403, "ExpiredProviderToken") };
		let claims: Record<string, unknown>;
		try {
			const protectedHeader = decodeProtectedHeader(jwt);
			if (protectedHeader.alg !== "ES256" || protectedHeader.kid !== creds.key_id) throw new Error("unknown key");
			const { payload } = await compactVerify(jwt, ctx.keys.apnsPublicKey, { algorithms: ["ES256"] });
			const parsed: unknown = JSON.parse(new TextDecoder().decode(payload));
			if (!isObject(parsed)) throw new Error("claims");
			claims = parsed;
		} catch {
			return { ok: false, response: error(403, "InvalidProviderToken") };
		}
		const iat = claims.iat;
		if (claims.iss !== creds.team_id || typeof iat !== "number" || iat > nowSeconds() + CLOCK_SKEW_SECONDS) {
			return { ok: false, response: error(403, "InvalidProviderToken") };
		}
		const keyId = `${creds.team_id}/${creds.key_id}`;
		let keyState = keys.get(keyId);
		if (iat < nowSeconds() - MAX_TOKEN_AGE_SECONDS) {
			if (keyState) keyState.refreshAllowed = true;
			return { ok: false, response: error(403, "ExpiredProviderToken") };
		}
		let tooFast = false;
		if (!keyState) {
			keyState = { latestIat: iat, seen: new Set([jwt]), refreshAllowed: false };
			keys.set(keyId, keyState);
			stats().token_refreshes++;
		} else if (!keyState.seen.has(jwt)) {
			stats().token_refreshes++;
			tooFast = !keyState.refreshAllowed && Math.abs(iat - keyState.latestIat) < MIN_REFRESH_SECONDS;
			if (tooFast) stats().too_fast_token_refreshes = (stats().too_fast_token_refreshes ?? 0) + 1;
			keyState.seen.add(jwt);
			if (keyState.seen.size > 1000) keyState.seen.delete(keyState.seen.values().next().value as string);
			keyState.latestIat = Math.max(keyState.latestIat, iat);
			keyState.refreshAllowed = false;
		}
		return { ok: true, jwt, keyState, tooFast };
	}

	/** Checks the apns-* headers; returns an error response or the warnings worth recording. */
	function checkHeaders(req: SimRequest, token: string): { response?: SimResponse; warnings: string[] } {
		const warnings: string[] = [];
		if (!token) return { response: error(400, "MissingDeviceToken"), warnings };
		if (!token.startsWith("invalid-") && !DEVICE_TOKEN_RE.test(token))
			return { response: error(400, "BadDeviceToken"), warnings };
		const topic = header(req, "apns-topic");
		if (!topic) return { response: error(400, "MissingTopic"), warnings };
		const pushType = header(req, "apns-push-type");
		if (pushType !== undefined && !PUSH_TYPES.has(pushType)) return { response: error(400, "InvalidPushType"), warnings };
		if (pushType === undefined) warnings.push("apns-push-type missing (required on watchOS, recommended everywhere)");
		if (!topic.startsWith(creds.bundle_id)) return { response: error(400, "DeviceTokenNotForTopic"), warnings };
		const rest = topic.slice(creds.bundle_id.length);
		if (rest !== "" && !Object.values(TOPIC_SUFFIX).includes(rest)) return { response: error(400, "TopicDisallowed"), warnings };
		if (pushType !== undefined && rest !== (TOPIC_SUFFIX[pushType] ?? ""))
			return { response: error(400, "InvalidPushType"), warnings };
		const priority = header(req, "apns-priority");
		if (priority !== undefined && !["10", "5", "1"].includes(priority)) return { response: error(400, "BadPriority"), warnings };
		if (pushType === "background" && priority === "10") return { response: error(400, "BadPriority"), warnings };
		if (pushType === "background" && priority === undefined) warnings.push("background push without apns-priority: 5");
		const expiration = header(req, "apns-expiration");
		if (expiration !== undefined && !/^\d+$/.test(expiration)) return { response: error(400, "BadExpirationDate"), warnings };
		const collapseId = header(req, "apns-collapse-id");
		if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64)
			return { response: error(400, "BadCollapseId"), warnings };
		const apnsId = header(req, "apns-id");
		if (apnsId !== undefined && !UUID_RE.test(apnsId)) return { response: error(400, "BadMessageId"), warnings };
		return { warnings };
	}

	return async function handle(req: SimRequest, token: string): Promise<SimResponse> {
		if (req.method !== "POST") return error(405, "MethodNotAllowed");
		stats().requests++;
		let payload: unknown = null;
		const warnings: string[] = [];
		const finish = (response: SimResponse, outcome: Outcome): SimResponse => {
			ctx.state.record({
				channel: "apns",
				token,
				headers: redactHeaders(req.headers),
				payload,
				outcome,
				...(warnings.length ? { warnings } : {}),
			});
			return response;
		};
		const fail = (response: SimResponse, fault?: Fault): SimResponse => {
			const reason = (response.json as { reason?: string } | undefined)?.reason;
			return finish(response, {
				status: response.status,
				ok: false,
				...(reason ? { reason } : {}),
				...(fault ? { fault: fault.kind } : {}),
			});
		};

		const parsed = req.truncated ? undefined : parseJson(req.body);
		if (parsed?.ok) payload = parsed.value;

		const auth = await authenticate(req);
		if (!auth.ok) {
			stats().auth_failures++;
			return fail(auth.response);
		}
		if (auth.tooFast && ctx.options.apnsTokenRefresh === "enforce") return fail(error(429, "TooManyProviderTokenUpdates"));

		const checked = checkHeaders(req, token);
		warnings.push(...checked.warnings);
		if (checked.response) return fail(checked.response);

		if (req.truncated || req.body.length > PAYLOAD_LIMIT) return fail(error(413, "PayloadTooLarge"));
		if (req.body.length === 0) return fail(error(400, "PayloadEmpty"));
		if (!parsed?.ok) return fail(error(400, "BadPayload", { sim_detail: "body is not JSON" }));
		const problem = checkAps(payload, header(req, "apns-push-type"), warnings);
		if (problem) return fail(error(400, "BadPayload", { sim_detail: problem }));

		if (token.startsWith("invalid-")) return fail(error(410, "Unregistered", { timestamp: Date.now() }));

		const fault = ctx.state.takeFault("apns", [token]);
		await faultDelay(ctx, fault);
		if (fault) {
			switch (fault.kind) {
				case "slow":
					break;
				case "429":
					return fail(error(429, "TooManyRequests", undefined, retryAfter(fault)), fault);
				case "too_many_provider_token_updates":
					return fail(error(429, "TooManyProviderTokenUpdates", undefined, retryAfter(fault)), fault);
				case "500":
					return fail(error(500, "InternalServerError", undefined, retryAfter(fault)), fault);
				case "503":
					return fail(error(503, "ServiceUnavailable", undefined, retryAfter(fault)), fault);
				case "410":
				case "unregistered":
					return fail(error(410, "Unregistered", { timestamp: Date.now() }), fault);
				case "bad_token":
					return fail(error(400, "BadDeviceToken"), fault);
				case "auth":
					// The token is now expired for good; the client must sign a new one (not counted as too fast).
					revoked.add(auth.jwt);
					auth.keyState.refreshAllowed = true;
					stats().auth_failures++;
					return fail(error(403, "ExpiredProviderToken"), fault);
			}
		}

		const apnsId = header(req, "apns-id") ?? randomUUID();
		return finish(
			{ status: 200, headers: { "apns-id": apnsId, "apns-unique-id": randomUUID() } },
			{ status: 200, ok: true, ...(fault ? { fault: fault.kind } : {}) },
		);
	};
}

/** Type checks of the documented `aps` keys; returns a problem description or undefined. */
function checkAps(body: unknown, pushType: string | undefined, warnings: string[]): string | undefined {
	if (!isObject(body)) return "body is not a JSON object";
	const aps = body.aps;
	if (!isObject(aps)) return "missing aps dictionary";
	const { alert, sound, badge } = aps;
	if (alert !== undefined) {
		if (isObject(alert)) {
			for (const k of ["title", "subtitle", "body", "launch-image", "title-loc-key", "subtitle-loc-key", "loc-key"]) {
				if (alert[k] !== undefined && typeof alert[k] !== "string") return `aps.alert.${k} must be a string`;
			}
		} else if (typeof alert !== "string") return "aps.alert must be a string or a dictionary";
	}
	if (sound !== undefined && typeof sound !== "string" && !isObject(sound)) return "aps.sound must be a string or a dictionary";
	if (badge !== undefined && (typeof badge !== "number" || !Number.isInteger(badge) || badge < 0)) {
		return "aps.badge must be a non-negative integer";
	}
	for (const k of ["thread-id", "category", "target-content-id", "filter-criteria"]) {
		if (aps[k] !== undefined && typeof aps[k] !== "string") return `aps.${k} must be a string`;
	}
	for (const k of ["mutable-content", "content-available"]) {
		if (aps[k] !== undefined && aps[k] !== 0 && aps[k] !== 1) return `aps.${k} must be 0 or 1`;
	}
	const level = aps["interruption-level"];
	if (level !== undefined && !["passive", "active", "time-sensitive", "critical"].includes(level as string)) {
		return "aps.interruption-level must be passive, active, time-sensitive or critical";
	}
	const score = aps["relevance-score"];
	if (score !== undefined && (typeof score !== "number" || score < 0 || score > 1)) return "aps.relevance-score must be 0..1";
	if (pushType === "background") {
		if (aps["content-available"] !== 1) warnings.push("background push without aps.content-available: 1");
		if (alert !== undefined || sound !== undefined || badge !== undefined) {
			warnings.push("background push carries alert/sound/badge (Apple: use push type alert)");
		}
	}
	if (pushType === "alert" && alert === undefined && sound === undefined && badge === undefined) {
		warnings.push("alert push without alert, sound or badge");
	}
	return undefined;
}
