/**
 * Huawei Push Kit (HMS Core, v1 API): OAuth 2.0 client-credentials token endpoint (as
 * https://oauth-login.cloud.huawei.com/oauth2/v3/token) and `POST /v1/{app_id}/messages:send`
 * (as https://push-api.cloud.huawei.com), up to 1,000 tokens per request, result codes in the body.
 */
import { randomUUID } from "node:crypto";
import { faultDelay, PAYLOAD_LIMIT, retryAfter, type SimContext } from "./context.ts";
import { bearer, isObject, json, parseJson, randomToken, redactHeaders, type SimRequest, type SimResponse } from "./http.ts";
import { postReceipt } from "./receipts.ts";
import type { Fault, Outcome } from "./state.ts";

const ACCESS_TOKEN_SECONDS = 3600;
const MAX_TOKENS = 1000;
const TTL_RE = /^\d+(\.\d{1,9})?s?$/;

/** A Push Kit answer: result code and message in the body, requestId always present. */
function result(status: number, code: string, msg: string, headers?: Record<string, string>): SimResponse {
	return json(status, { code, msg, requestId: `${Date.now()}${randomToken(6, "hex")}` }, headers);
}
const illegalPayload = (detail: string) => result(400, "80100003", `Illegal payload, ${detail}`);

export function createHms(ctx: SimContext) {
	const creds = ctx.keys.credentials.hms;
	const accessTokens = new Map<string, { expiresAt: number }>();
	const stats = () => ctx.state.stats.hms;

	/** `POST /hms/oauth2/v3/token` (form: grant_type=client_credentials, client_id, client_secret). */
	async function token(req: SimRequest): Promise<SimResponse> {
		if (req.method !== "POST") return json(405, { error: 1101, error_description: "method not allowed" });
		const form = new URLSearchParams(req.body.toString("utf8"));
		// Error bodies follow Huawei OAuth's {error, sub_error, error_description} shape; the numbers are the simulator's.
		if (form.get("grant_type") !== "client_credentials") {
			stats().auth_failures++;
			return json(400, { error: 1102, sub_error: 20001, error_description: "unsupported grant_type" });
		}
		if (form.get("client_id") !== creds.client_id || form.get("client_secret") !== creds.client_secret) {
			stats().auth_failures++;
			return json(400, { error: 1101, sub_error: 20152, error_description: "invalid client" });
		}
		// Real tokens are standard base64 with '+', '/' and '=': they must be sent verbatim.
		const accessToken = `CgB6e3x9${randomToken(96, "base64")}`;
		accessTokens.set(accessToken, { expiresAt: Date.now() + ACCESS_TOKEN_SECONDS * 1000 });
		stats().token_refreshes++;
		return json(200, { access_token: accessToken, expires_in: ACCESS_TOKEN_SECONDS, token_type: "Bearer" });
	}

	/** `POST /hms/v1/{appId}/messages:send`. */
	async function send(req: SimRequest, appId: string): Promise<SimResponse> {
		if (req.method !== "POST") return result(404, "80100002", "Method not found");
		stats().requests++;
		const parsed = req.truncated ? undefined : parseJson(req.body);
		const body = parsed?.ok ? parsed.value : null;
		const message = isObject(body) && isObject(body.message) ? body.message : undefined;
		const tokens = Array.isArray(message?.token) ? message.token.filter((t): t is string => typeof t === "string") : [];
		const headers = redactHeaders(req.headers);
		/** Records one delivery per token (or one with an empty token when none could be read). */
		const finish = (response: SimResponse, outcomeOf: (token: string) => Outcome): SimResponse => {
			for (const token of tokens.length ? tokens : [""]) {
				ctx.state.record({ channel: "hms", token, headers, payload: body, outcome: outcomeOf(token) });
			}
			return response;
		};
		const fail = (response: SimResponse, fault?: Fault): SimResponse => {
			const code = (response.json as { code?: string } | undefined)?.code;
			return finish(response, () => ({
				status: response.status,
				ok: false,
				...(code ? { reason: code } : {}),
				...(fault ? { fault: fault.kind } : {}),
			}));
		};

		const accessToken = bearer(req);
		if (!accessToken || appId !== creds.app_id) {
			stats().auth_failures++;
			return fail(result(401, "80200001", "Oauth authentication error"));
		}
		const issued = accessTokens.get(accessToken);
		if (!issued || issued.expiresAt <= Date.now()) {
			stats().auth_failures++;
			return fail(result(401, "80200003", "Oauth Token expired"));
		}

		if (req.truncated) return fail(result(400, "80300008", "The message body size exceeds the default value"));
		if (!parsed?.ok || !isObject(body)) return fail(illegalPayload("the request body is not a JSON object"));
		if (body.validate_only !== undefined && typeof body.validate_only !== "boolean")
			return fail(illegalPayload("validate_only must be a boolean"));
		if (!message) return fail(illegalPayload("message is mandatory"));
		if (
			!Array.isArray(message.token) ||
			message.token.length === 0 ||
			message.token.length > MAX_TOKENS ||
			tokens.length !== message.token.length
		) {
			return fail(result(400, "80300010", "The number of tokens in the message body exceeds the default value"));
		}
		const problem = checkMessage(message);
		if (problem) return fail(illegalPayload(problem));
		const { token: _t, ...content } = message;
		if (Buffer.byteLength(JSON.stringify(content)) > PAYLOAD_LIMIT) {
			return fail(result(400, "80300008", "The message body size exceeds the default value"));
		}

		if (body.validate_only === true) {
			return finish(result(200, "80000000", "Success"), () => ({ status: 200, ok: false, reason: "validate_only" }));
		}

		const faults = ctx.state.takeBatchFaults("hms", tokens);
		const fault = faults.request;
		await faultDelay(ctx, fault);
		const illegal = new Set(tokens.filter((t) => t.startsWith("invalid-")));
		for (const t of faults.perToken.keys()) illegal.add(t);
		if (fault) {
			switch (fault.kind) {
				case "slow":
					break;
				case "429":
				case "503":
				case "too_many_provider_token_updates": {
					const status = fault.kind === "503" ? 503 : 429;
					return fail(json(status, { msg: "Traffic control", requestId: randomUUID() }, retryAfter(fault)), fault);
				}
				case "500":
					return fail(result(500, "81000001", "System inner error", retryAfter(fault)), fault);
				case "auth":
					accessTokens.delete(accessToken);
					stats().auth_failures++;
					return fail(result(401, "80200003", "Oauth Token expired"), fault);
				case "410":
				case "unregistered":
				case "bad_token":
					for (const t of tokens) illegal.add(t);
					break;
			}
		}
		const faultOf = (t: string): Fault | undefined =>
			faults.perToken.get(t) ?? (fault && fault.kind !== "slow" ? fault : undefined);
		const outcomeOf =
			(status: number) =>
			(t: string): Outcome => {
				const f = illegal.has(t) ? faultOf(t) : fault;
				return illegal.has(t)
					? { status, ok: false, reason: "illegal_token", ...(f ? { fault: f.kind } : {}) }
					: { status, ok: true, ...(f ? { fault: f.kind } : {}) };
			};
		if (illegal.size === tokens.length) return finish(result(400, "80300007", "All the tokens are invalid"), outcomeOf(400));
		if (illegal.size > 0) {
			const summary = { success: tokens.length - illegal.size, failure: illegal.size, illegal_tokens: [...illegal] };
			return finish(result(200, "80100000", JSON.stringify(summary)), outcomeOf(200));
		}
		const ok = result(200, "80000000", "Success");
		if (fault?.kind !== "no_receipt") sendReceipt(message, tokens, (ok.json as { requestId: string }).requestId);
		return finish(ok, outcomeOf(200));
	}

	/** A delivery receipt to the URL "configured in AppGallery Connect", for messages with a bi_tag. */
	function sendReceipt(message: Record<string, unknown> | undefined, tokens: string[], requestId: string) {
		const url = ctx.state.receiptUrls.hms;
		const android = isObject(message?.android) ? message.android : {};
		if (!url || typeof android.bi_tag !== "string") return;
		const timestamp = Date.now();
		postReceipt(ctx, "hms", url, {
			statuses: tokens.map((token) => ({ biTag: android.bi_tag, appid: creds.app_id, token, status: 0, timestamp, requestId })),
		});
	}

	return { token, send };
}

/** Checks the documented message fields; returns a problem or undefined. */
function checkMessage(message: Record<string, unknown>): string | undefined {
	if (message.topic !== undefined || message.condition !== undefined) return "sim: only token targets are simulated";
	if (message.data !== undefined && typeof message.data !== "string") return "data must be a string";
	const notification = message.notification;
	if (notification !== undefined) {
		if (!isObject(notification)) return "notification must be an object";
		for (const k of ["title", "body", "image"]) {
			if (notification[k] !== undefined && typeof notification[k] !== "string") return `notification.${k} must be a string`;
		}
	}
	const android = message.android;
	if (android !== undefined) {
		if (!isObject(android)) return "android must be an object";
		if (android.urgency !== undefined && android.urgency !== "HIGH" && android.urgency !== "NORMAL")
			return "android.urgency must be HIGH or NORMAL";
		if (android.ttl !== undefined && (typeof android.ttl !== "string" || !TTL_RE.test(android.ttl)))
			return "android.ttl format is invalid";
		const ck = android.collapse_key;
		if (ck !== undefined && (typeof ck !== "number" || !Number.isInteger(ck) || ck < -1 || ck > 100)) {
			return "android.collapse_key must be an integer from -1 to 100";
		}
		for (const k of ["category", "bi_tag", "data"]) {
			if (android[k] !== undefined && typeof android[k] !== "string") return `android.${k} must be a string`;
		}
		const n = android.notification;
		if (n !== undefined) {
			if (!isObject(n)) return "android.notification must be an object";
			for (const k of ["title", "body", "image", "icon", "color", "sound", "tag", "channel_id"]) {
				if (n[k] !== undefined && typeof n[k] !== "string") return `android.notification.${k} must be a string`;
			}
			const click = n.click_action;
			if (!isObject(click)) return "android.notification.click_action is mandatory";
			if (![1, 2, 3, 4].includes(click.type as number)) return "android.notification.click_action.type must be 1, 2, 3 or 4";
			if (click.type === 1 && typeof click.intent !== "string" && typeof click.action !== "string") {
				return "click_action type 1 needs intent or action";
			}
			if (click.type === 2 && typeof click.url !== "string") return "click_action type 2 needs url";
			if (notification === undefined && (n.title === undefined || n.body === undefined)) {
				return "android.notification needs title and body (or message.notification)";
			}
		}
	}
	if (message.data === undefined && notification === undefined && !isObject(android?.notification)) {
		return "message has neither data nor notification";
	}
	return undefined;
}
