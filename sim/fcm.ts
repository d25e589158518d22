/**
 * FCM HTTP v1: the OAuth2 token endpoint for service accounts (RFC 7523 JWT bearer grant, as Google's
 * https://oauth2.googleapis.com/token) and `POST /v1/projects/{project_id}/messages:send`, with errors
 * in Google's `{error:{code,message,status,details}}` shape and FcmError codes.
 */
import { compactVerify, decodeProtectedHeader } from "jose";
import { faultDelay, PAYLOAD_LIMIT, retryAfter, type SimContext } from "./context.ts";
import {
	bearer,
	isObject,
	json,
	nowSeconds,
	parseJson,
	randomToken,
	redactHeaders,
	type SimRequest,
	type SimResponse,
} from "./http.ts";
import type { Fault, Outcome } from "./state.ts";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SCOPES = ["https://www.googleapis.com/auth/firebase.messaging", "https://www.googleapis.com/auth/cloud-platform"];
const ACCESS_TOKEN_SECONDS = 3599;
const CLOCK_SKEW_SECONDS = 60;
const FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const AUTH_HELP =
	"Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

const MESSAGE_FIELDS = new Set([
	"name",
	"data",
	"notification",
	"android",
	"webpush",
	"apns",
	"fcm_options",
	"token",
	"topic",
	"condition",
]);
const RESERVED_DATA_KEYS = new Set(["from", "notification", "message_type"]);
const DURATION_RE = /^\d+(\.\d{1,9})?s$/;

type GoogleStatus =
	| "INVALID_ARGUMENT"
	| "UNAUTHENTICATED"
	| "PERMISSION_DENIED"
	| "NOT_FOUND"
	| "RESOURCE_EXHAUSTED"
	| "INTERNAL"
	| "UNAVAILABLE";

function googleError(
	code: number,
	status: GoogleStatus,
	message: string,
	fcmErrorCode?: string,
	extraDetails: unknown[] = [],
	headers?: Record<string, string>,
): SimResponse {
	const details = [...(fcmErrorCode ? [{ "@type": FCM_ERROR, errorCode: fcmErrorCode }] : []), ...extraDetails];
	return json(code, { error: { code, message, status, ...(details.length ? { details } : {}) } }, headers);
}

const invalidArgument = (message: string, field?: string): SimResponse =>
	googleError(
		400,
		"INVALID_ARGUMENT",
		message,
		"INVALID_ARGUMENT",
		field ? [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field, description: message }] }] : [],
	);

const unknownField = (name: string, at?: string): SimResponse =>
	invalidArgument(`Invalid JSON payload received. Unknown name "${name}"${at ? ` at '${at}'` : ""}: Cannot find field.`);

function oauthError(error: string, description: string): SimResponse {
	return json(400, { error, error_description: description });
}

export function createFcm(ctx: SimContext) {
	const sa = ctx.keys.credentials.fcm.service_account;
	const accessTokens = new Map<string, { expiresAt: number }>();
	const stats = () => ctx.state.stats.fcm;
	let messageSeq = 0;

	/** `POST /fcm/token`: service-account JWT → access token. */
	async function token(req: SimRequest): Promise<SimResponse> {
		if (req.method !== "POST") return json(405, { error: "invalid_request", error_description: "Use POST" });
		const form = new URLSearchParams(req.body.toString("utf8"));
		const reject = (error: string, description: string) => {
			stats().auth_failures++;
			return oauthError(error, description);
		};
		const grantType = form.get("grant_type");
		if (grantType !== JWT_BEARER) return reject("unsupported_grant_type", `Invalid grant_type: ${grantType ?? ""}`);
		const assertion = form.get("assertion");
		if (!assertion) return reject("invalid_request", "Missing required parameter: assertion");
		let claims: Record<string, unknown>;
		try {
			if (decodeProtectedHeader(assertion).alg !== "RS256") throw new Error("alg");
			const { payload } = await compactVerify(assertion, ctx.keys.fcmPublicKey, { algorithms: ["RS256"] });
			const parsed: unknown = JSON.parse(new TextDecoder().decode(payload));
			if (!isObject(parsed)) throw new Error("claims");
			claims = parsed;
		} catch {
			return reject("invalid_grant", "Invalid JWT Signature.");
		}
		if (claims.iss !== sa.client_email) return reject("invalid_grant", "Invalid email or User ID");
		if (claims.aud !== sa.token_uri) return reject("invalid_grant", "Invalid JWT: Failed audience check.");
		const { iat, exp } = claims;
		const now = nowSeconds();
		if (
			typeof iat !== "number" ||
			typeof exp !== "number" ||
			exp - iat > 3600 ||
			exp <= now ||
			iat > now + CLOCK_SKEW_SECONDS ||
			exp <= iat
		) {
			return reject(
				"invalid_grant",
				"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
			);
		}
		const scopes = typeof claims.scope === "string" ? claims.scope.split(/\s+/) : [];
		if (!scopes.some((s) => SCOPES.includes(s)))
			return reject("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
		const accessToken = `ya29.sim-${randomToken(48)}`;
		accessTokens.set(accessToken, { expiresAt: Date.now() + ACCESS_TOKEN_SECONDS * 1000 });
		stats().token_refreshes++;
		return json(200, { access_token: accessToken, expires_in: ACCESS_TOKEN_SECONDS, token_type: "Bearer" });
	}

	/** `POST /v1/projects/{projectId}/messages:send`. */
	async function send(req: SimRequest, projectId: string): Promise<SimResponse> {
		if (req.method !== "POST") return googleError(404, "NOT_FOUND", "Method not found.");
		stats().requests++;
		const parsed = req.truncated ? undefined : parseJson(req.body);
		const body = parsed?.ok ? parsed.value : null;
		const message = isObject(body) && isObject(body.message) ? body.message : undefined;
		const target = typeof message?.token === "string" ? message.token : "";
		const finish = (response: SimResponse, outcome: Outcome): SimResponse => {
			ctx.state.record({ channel: "fcm", token: target, headers: redactHeaders(req.headers), payload: body, outcome });
			return response;
		};
		const fail = (response: SimResponse, fault?: Fault): SimResponse => {
			const err = (response.json as { error?: { status?: string; details?: { errorCode?: string }[] } }).error;
			const reason = err?.details?.find((d) => d.errorCode)?.errorCode ?? err?.status;
			return finish(response, {
				status: response.status,
				ok: false,
				...(reason ? { reason } : {}),
				...(fault ? { fault: fault.kind } : {}),
			});
		};

		// Authentication: an access token the simulator issued and that has not expired.
		const accessToken = bearer(req);
		if (!accessToken) {
			stats().auth_failures++;
			return fail(
				googleError(401, "UNAUTHENTICATED", `Request is missing required authentication credential. ${AUTH_HELP}`, undefined, [
					{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "CREDENTIALS_MISSING", domain: "googleapis.com" },
				]),
			);
		}
		const issued = accessTokens.get(accessToken);
		if (!issued || issued.expiresAt <= Date.now()) {
			stats().auth_failures++;
			const expired = issued !== undefined;
			return fail(
				googleError(
					401,
					"UNAUTHENTICATED",
					`Request had invalid authentication credentials. ${AUTH_HELP}`,
					undefined,
					expired
						? [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "ACCESS_TOKEN_EXPIRED", domain: "googleapis.com" }]
						: [],
				),
			);
		}
		if (projectId !== sa.project_id) {
			return fail(
				googleError(
					403,
					"PERMISSION_DENIED",
					`Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${projectId}' (or it may not exist).`,
				),
			);
		}

		// The request body.
		if (req.truncated) return fail(invalidArgument("Request payload size exceeds the limit."));
		if (!parsed?.ok) return fail(invalidArgument(`Invalid JSON payload received. ${parsed?.error ?? ""}`.trim()));
		if (!isObject(body)) return fail(invalidArgument("Invalid JSON payload received. Expected an object."));
		for (const key of Object.keys(body)) if (key !== "message" && key !== "validate_only") return fail(unknownField(key));
		if (!message) return fail(invalidArgument("Request contains an invalid argument.", "message"));
		const problem = checkMessage(message);
		if (problem) return fail(problem);
		const { token: _t, topic: _tp, condition: _c, name: _n, ...content } = message;
		const size = Buffer.byteLength(JSON.stringify(content));
		if (size > PAYLOAD_LIMIT) {
			return fail(invalidArgument(`Message is too big: ${size} bytes, the limit is ${PAYLOAD_LIMIT} bytes.`, "message"));
		}
		if (target.startsWith("invalid-"))
			return fail(googleError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"));

		if (body.validate_only === true) {
			return finish(json(200, { name: `projects/${projectId}/messages/fake_message_id` }), {
				status: 200,
				ok: false,
				reason: "validate_only",
			});
		}

		const fault = ctx.state.takeFault("fcm", [target]);
		await faultDelay(ctx, fault);
		if (fault) {
			switch (fault.kind) {
				case "slow":
					break;
				case "429":
				case "too_many_provider_token_updates":
					return fail(googleError(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED", [], retryAfter(fault)), fault);
				case "500":
					return fail(googleError(500, "INTERNAL", "Internal error encountered.", "INTERNAL", [], retryAfter(fault)), fault);
				case "503":
					return fail(
						googleError(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE", [], retryAfter(fault)),
						fault,
					);
				case "410":
				case "unregistered":
					return fail(googleError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"), fault);
				case "bad_token":
					return fail(invalidArgument("The registration token is not a valid FCM registration token", "message.token"), fault);
				case "auth":
					// The access token is now expired: the client must exchange a new assertion.
					accessTokens.delete(accessToken);
					stats().auth_failures++;
					return fail(
						googleError(401, "UNAUTHENTICATED", `Request had invalid authentication credentials. ${AUTH_HELP}`, undefined, [
							{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "ACCESS_TOKEN_EXPIRED", domain: "googleapis.com" },
						]),
						fault,
					);
			}
		}
		messageSeq++;
		return finish(json(200, { name: `projects/${projectId}/messages/${Date.now()}${String(messageSeq).padStart(6, "0")}` }), {
			status: 200,
			ok: true,
			...(fault ? { fault: fault.kind } : {}),
		});
	}

	return { token, send };
}

function checkStringMap(value: unknown, field: string): SimResponse | undefined {
	if (value === undefined) return undefined;
	if (!isObject(value)) return invalidArgument(`Invalid value at '${field}': expected a map of strings.`, field);
	for (const [k, v] of Object.entries(value)) {
		if (typeof v !== "string")
			return invalidArgument(`Invalid value at '${field}[${k}].value' (TYPE_STRING), ${JSON.stringify(v)}`, field);
	}
	return undefined;
}

function checkStrings(obj: Record<string, unknown>, keys: string[], at: string): SimResponse | undefined {
	for (const k of keys) {
		if (obj[k] !== undefined && typeof obj[k] !== "string") {
			return invalidArgument(`Invalid value at '${at}.${k}' (TYPE_STRING), ${JSON.stringify(obj[k])}`, `${at}.${k}`);
		}
	}
	return undefined;
}

/** Validates the documented Message fields (v1 REST reference). */
function checkMessage(message: Record<string, unknown>): SimResponse | undefined {
	for (const key of Object.keys(message)) if (!MESSAGE_FIELDS.has(key)) return unknownField(key, "message");
	const targets = ["token", "topic", "condition"].filter((k) => message[k] !== undefined);
	if (targets.length === 0) return invalidArgument("Recipient of the message is not set.", "message");
	if (targets.length > 1) return invalidArgument("Exactly one of token, topic or condition must be set.", "message");
	if (message.token === undefined)
		return invalidArgument("sim: only token targets are simulated (topic/condition are not).", "message");
	if (typeof message.token !== "string" || message.token === "") {
		return invalidArgument("The registration token is not a valid FCM registration token", "message.token");
	}
	const dataProblem = checkStringMap(message.data, "message.data");
	if (dataProblem) return dataProblem;
	if (isObject(message.data)) {
		for (const key of Object.keys(message.data)) {
			if (RESERVED_DATA_KEYS.has(key) || key.startsWith("google") || key.startsWith("gcm")) {
				return invalidArgument(`Invalid data payload key: ${key}`, "message.data");
			}
		}
	}
	if (message.notification !== undefined) {
		if (!isObject(message.notification))
			return invalidArgument("Invalid value at 'message.notification'.", "message.notification");
		for (const key of Object.keys(message.notification)) {
			if (!["title", "body", "image"].includes(key)) return unknownField(key, "message.notification");
		}
		const p = checkStrings(message.notification, ["title", "body", "image"], "message.notification");
		if (p) return p;
	}
	if (message.android !== undefined) {
		const android = message.android;
		if (!isObject(android)) return invalidArgument("Invalid value at 'message.android'.", "message.android");
		const p = checkStrings(android, ["collapse_key", "restricted_package_name"], "message.android");
		if (p) return p;
		if (android.priority !== undefined && android.priority !== "NORMAL" && android.priority !== "HIGH") {
			return invalidArgument(
				`Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), ${JSON.stringify(android.priority)}`,
				"message.android.priority",
			);
		}
		if (android.ttl !== undefined && (typeof android.ttl !== "string" || !DURATION_RE.test(android.ttl))) {
			return invalidArgument(
				"Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), Illegal duration format; duration must end with 's'",
				"message.android.ttl",
			);
		}
		const d = checkStringMap(android.data, "message.android.data");
		if (d) return d;
		if (android.notification !== undefined) {
			if (!isObject(android.notification))
				return invalidArgument("Invalid value at 'message.android.notification'.", "message.android.notification");
			const n = checkStrings(
				android.notification,
				["title", "body", "icon", "color", "sound", "tag", "click_action", "channel_id", "image", "ticker"],
				"message.android.notification",
			);
			if (n) return n;
		}
	}
	if (message.apns !== undefined) {
		const apns = message.apns;
		if (!isObject(apns)) return invalidArgument("Invalid value at 'message.apns'.", "message.apns");
		const h = checkStringMap(apns.headers, "message.apns.headers");
		if (h) return h;
		if (
			apns.payload !== undefined &&
			(!isObject(apns.payload) || (apns.payload.aps !== undefined && !isObject(apns.payload.aps)))
		) {
			return invalidArgument("Invalid value at 'message.apns.payload': aps must be a dictionary.", "message.apns.payload");
		}
	}
	if (message.webpush !== undefined) {
		const webpush = message.webpush;
		if (!isObject(webpush)) return invalidArgument("Invalid value at 'message.webpush'.", "message.webpush");
		const h = checkStringMap(webpush.headers, "message.webpush.headers") ?? checkStringMap(webpush.data, "message.webpush.data");
		if (h) return h;
		if (webpush.notification !== undefined && !isObject(webpush.notification)) {
			return invalidArgument("Invalid value at 'message.webpush.notification'.", "message.webpush.notification");
		}
	}
	if (message.fcm_options !== undefined) {
		if (!isObject(message.fcm_options)) return invalidArgument("Invalid value at 'message.fcm_options'.", "message.fcm_options");
		const p = checkStrings(message.fcm_options, ["analytics_label"], "message.fcm_options");
		if (p) return p;
	}
	return undefined;
}
