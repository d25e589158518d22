/**
 * Honor Push (as https://push-api.cloud.hihonor.com and Honor IAM
 * https://iam.developer.hihonor.com): OAuth 2.0 client credentials at
 * `/auth/realms/developer/protocol/openid-connect/token`, and `POST /api/v1/{appId}/sendMessage`
 * with `Authorization: Bearer`, a `timestamp` header and up to 1,000 tokens. Answers `{code,
 * message, data: {sendResult, requestId, failTokens, expireTokens}}`; see core/channels/honor/send.ts
 * for which codes are confirmed.
 */
import { faultDelay, PAYLOAD_LIMIT, retryAfter, type SimContext } from "./context.ts";
import {
	bearer,
	header,
	isObject,
	json,
	parseJson,
	randomToken,
	redactHeaders,
	type SimRequest,
	type SimResponse,
} from "./http.ts";
import type { Fault, Outcome } from "./state.ts";

const ACCESS_TOKEN_SECONDS = 3600;
const MAX_TOKENS = 1000;
/**
 * Push Kit's codes, which Honor's API inherited (ResponceCodeProcesser of HMS-Core's server demo, see
 * core/channels/honor/send.ts): 80100003 "Message structure error", 80200001 "Oauth authentication
 * error", 80200003 "Oauth Token expired", 80300007 "Invalid Token", 80300008 message body too large,
 * 80300010 "Tokens exceed the default value", 81000001 "System inner error". Honor's own table could
 * not be read; it documents no daily-quota code that could be found.
 */
export const HONOR_SIM_CODES = {
	ok: 200,
	illegalPayload: 80100003,
	authFailed: 80200001,
	tokenExpired: 80200003,
	allTokensInvalid: 80300007,
	tooLarge: 80300008,
	tooManyTokens: 80300010,
	internal: 81000001,
} as const;

const answer = (status: number, code: number, message: string, data?: unknown, headers?: Record<string, string>) =>
	json(status, data === undefined ? { code, message } : { code, message, data }, headers);

export function createHonor(ctx: SimContext) {
	const creds = ctx.keys.credentials.honor;
	const accessTokens = new Map<string, number>();
	const stats = () => ctx.state.stats.honor;

	function token(req: SimRequest): SimResponse {
		const form = new URLSearchParams(req.body.toString("utf8"));
		if (form.get("grant_type") !== "client_credentials") {
			stats().auth_failures++;
			return json(400, { error: "unsupported_grant_type", error_description: "grant_type must be client_credentials" });
		}
		if (form.get("client_id") !== creds.client_id || form.get("client_secret") !== creds.client_secret) {
			stats().auth_failures++;
			return json(401, { error: "invalid_client", error_description: "Invalid client credentials" });
		}
		const accessToken = randomToken(48, "base64");
		accessTokens.set(accessToken, Date.now() + ACCESS_TOKEN_SECONDS * 1000);
		stats().token_refreshes++;
		return json(200, { access_token: accessToken, expires_in: ACCESS_TOKEN_SECONDS, token_type: "Bearer" });
	}

	async function send(req: SimRequest, appId: string): Promise<SimResponse> {
		stats().requests++;
		const parsed = req.truncated ? undefined : parseJson(req.body);
		const body = parsed?.ok && isObject(parsed.value) ? parsed.value : null;
		const tokens = Array.isArray(body?.token) ? body.token.filter((t): t is string => typeof t === "string") : [];
		const headers = redactHeaders(req.headers);
		const finish = (response: SimResponse, outcomeOf: (t: string) => Outcome) => {
			for (const t of tokens.length ? tokens : [""])
				ctx.state.record({ channel: "honor", token: t, headers, payload: body, outcome: outcomeOf(t) });
			return response;
		};
		const fail = (response: SimResponse, fault?: Fault) => {
			const code = (response.json as { code?: number } | undefined)?.code;
			return finish(response, () => ({
				status: response.status,
				ok: false,
				reason: String(code),
				...(fault ? { fault: fault.kind } : {}),
			}));
		};
		const access = bearer(req);
		if (!access || appId !== creds.app_id) {
			stats().auth_failures++;
			return fail(answer(401, HONOR_SIM_CODES.authFailed, "Oauth authentication error"));
		}
		const expires = accessTokens.get(access);
		if (!expires || expires <= Date.now()) {
			stats().auth_failures++;
			return fail(answer(401, HONOR_SIM_CODES.tokenExpired, "Oauth Token expired"));
		}
		if (!/^\d{13}$/.test(header(req, "timestamp") ?? ""))
			return fail(answer(400, HONOR_SIM_CODES.illegalPayload, "timestamp header is mandatory"));
		if (!body) return fail(answer(400, HONOR_SIM_CODES.illegalPayload, "the request body is not a JSON object"));
		if (tokens.length === 0 || tokens.length > MAX_TOKENS || tokens.length !== (body.token as unknown[]).length) {
			return fail(answer(400, HONOR_SIM_CODES.tooManyTokens, "token must be 1-1000 strings"));
		}
		const { token: _t, ...content } = body;
		if (Buffer.byteLength(JSON.stringify(content)) > PAYLOAD_LIMIT)
			return fail(answer(400, HONOR_SIM_CODES.tooLarge, "The message body size exceeds the default value"));
		const problem = checkMessage(body);
		if (problem) return fail(answer(400, HONOR_SIM_CODES.illegalPayload, `Illegal payload, ${problem}`));

		const faults = ctx.state.takeBatchFaults("honor", tokens);
		const fault = faults.request;
		await faultDelay(ctx, fault);
		const expired = new Set(tokens.filter((t) => t.startsWith("invalid-")));
		for (const t of faults.perToken.keys()) expired.add(t);
		if (fault) {
			switch (fault.kind) {
				case "429":
				case "503":
				case "too_many_provider_token_updates":
				case "quota":
					// No documented daily-quota code: traffic control is the closest answer Honor gives.
					return fail(
						json(
							fault.kind === "503" ? 503 : 429,
							{ code: fault.kind === "503" ? 503 : 429, message: "Traffic control" },
							retryAfter(fault),
						),
						fault,
					);
				case "500":
					return fail(answer(500, HONOR_SIM_CODES.internal, "System inner error", undefined, retryAfter(fault)), fault);
				case "auth":
					accessTokens.delete(access);
					stats().auth_failures++;
					return fail(answer(401, HONOR_SIM_CODES.tokenExpired, "Oauth Token expired"), fault);
				case "410":
				case "unregistered":
				case "bad_token":
					for (const t of tokens) expired.add(t);
					break;
				case "slow":
					break;
			}
		}
		const outcomeOf =
			(status: number) =>
			(t: string): Outcome =>
				expired.has(t)
					? { status, ok: false, reason: "expireTokens", ...(fault ? { fault: fault.kind } : {}) }
					: { status, ok: true };
		if (expired.size === tokens.length)
			return finish(answer(400, HONOR_SIM_CODES.allTokensInvalid, "All the tokens are invalid"), outcomeOf(400));
		return finish(
			answer(200, HONOR_SIM_CODES.ok, "success", {
				sendResult: true,
				requestId: `${Date.now()}${randomToken(6, "hex")}`,
				failTokens: [],
				expireTokens: [...expired],
			}),
			outcomeOf(200),
		);
	}

	return { token, send };
}

function checkMessage(b: Record<string, unknown>): string | undefined {
	if (b.data !== undefined && typeof b.data !== "string") return "data must be a string";
	const android = b.android;
	if (android !== undefined && !isObject(android)) return "android must be an object";
	const n = isObject(android) ? android.notification : undefined;
	if (n !== undefined) {
		if (!isObject(n)) return "android.notification must be an object";
		if (typeof n.title !== "string" || typeof n.body !== "string") return "android.notification needs title and body";
		const click = n.clickAction;
		if (!isObject(click) || ![1, 2, 3].includes(click.type as number))
			return "android.notification.clickAction.type must be 1, 2 or 3";
		if (n.importance !== undefined && n.importance !== "LOW" && n.importance !== "NORMAL")
			return "importance must be LOW or NORMAL";
	}
	if (isObject(android) && android.ttl !== undefined && (typeof android.ttl !== "string" || !/^\d+s$/.test(android.ttl)))
		return "android.ttl format is invalid";
	if (b.data === undefined && n === undefined) return "message has neither data nor notification";
	return undefined;
}
