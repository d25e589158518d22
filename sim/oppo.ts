/**
 * OPPO PUSH server API (as https://api.push.oppomobile.com and, under /oppo-intl, the overseas
 * https://api-intl.push.oppomobile.com): `POST /server/v1/auth` (form app_key, sign =
 * sha256(app_key + timestamp + master_secret), timestamp in ms) → auth_token valid 24 h, and
 * `POST /server/v1/message/notification/unicast_batch` (form auth_token, messages: JSON array of up
 * to 1,000 {target_type: 2, target_value, notification}). Answers `{code, message, data}` with HTTP
 * 200 like OPPO; per-target failures carry `errorCode` (10000: invalid registration_id).
 */
import { createHash } from "node:crypto";
import { faultDelay, retryAfter, type SimContext } from "./context.ts";
import { header, isObject, json, randomToken, redactHeaders, type SimRequest, type SimResponse } from "./http.ts";
import { postReceipt } from "./receipts.ts";
import type { Fault, Outcome } from "./state.ts";

const TOKEN_MS = 24 * 3600 * 1000;
const MAX_MESSAGES = 1000;
const CLOCK_SKEW_MS = 10 * 60 * 1000;
/**
 * Every code is OPPO's (core/channels/oppo/send.ts names the sources: the "调用地址，公共参数和返回码"
 * table, OPPO's server SDK ReturnCode, and 10000 of 单推/批量单推): 14 "Invalid App Key" and 16
 * "Invalid Signature" answer a refused auth request, 41 "Invalid Arguments" a malformed message, 55
 * "App Call Frequency Limit" a client sending too fast, -2 "Service in Flow Control" a busy server.
 */
export const OPPO_SIM_CODES = {
	ok: 0,
	flowControl: -2,
	unavailable: -1,
	invalidAuthToken: 11,
	invalidAppKey: 14,
	invalidSignature: 16,
	dailyLimit: 33,
	invalidArguments: 41,
	callFrequencyLimit: 55,
	invalidRegistrationId: 10000,
} as const;

const answer = (code: number, message: string, data?: unknown, status = 200, headers?: Record<string, string>) =>
	json(status, data === undefined ? { code, message } : { code, message, data }, headers);

export function createOppo(ctx: SimContext) {
	const creds = ctx.keys.credentials.oppo;
	const tokens = new Map<string, number>();
	const stats = () => ctx.state.stats.oppo;

	function auth(req: SimRequest): SimResponse {
		const form = new URLSearchParams(req.body.toString("utf8"));
		const appKey = form.get("app_key") ?? "";
		const timestamp = form.get("timestamp") ?? "";
		if (appKey !== creds.app_key) {
			stats().auth_failures++;
			return answer(OPPO_SIM_CODES.invalidAppKey, "Invalid App Key");
		}
		const expected = createHash("sha256")
			.update(appKey + timestamp + creds.master_secret)
			.digest("hex");
		if (form.get("sign") !== expected || Math.abs(Date.now() - Number(timestamp)) > CLOCK_SKEW_MS) {
			stats().auth_failures++;
			return answer(OPPO_SIM_CODES.invalidSignature, "Invalid Signature");
		}
		const token = randomToken(24, "hex");
		tokens.set(token, Date.now() + TOKEN_MS);
		stats().token_refreshes++;
		return answer(OPPO_SIM_CODES.ok, "success", { auth_token: token, create_time: Date.now() });
	}

	async function unicastBatch(req: SimRequest, region: "cn" | "intl"): Promise<SimResponse> {
		stats().requests++;
		const form = new URLSearchParams(req.body.toString("utf8"));
		let messages: unknown;
		try {
			messages = JSON.parse(form.get("messages") ?? "null");
		} catch {
			messages = undefined;
		}
		const list = Array.isArray(messages) ? messages.filter(isObject) : [];
		const regIds = list.map((m) => (typeof m.target_value === "string" ? m.target_value : ""));
		const headers = redactHeaders(req.headers);
		const record = (outcomeOf: (regId: string) => Outcome) => {
			for (const [i, regId] of (regIds.length ? regIds : [""]).entries()) {
				ctx.state.record({ channel: "oppo", token: regId, headers, payload: { region, ...list[i] }, outcome: outcomeOf(regId) });
			}
		};
		const fail = (response: SimResponse, fault?: Fault) => {
			const code = (response.json as { code?: number }).code;
			record(() => ({ status: response.status, ok: false, reason: String(code), ...(fault ? { fault: fault.kind } : {}) }));
			return response;
		};
		const authToken = form.get("auth_token") ?? header(req, "auth_token");
		const expires = authToken ? tokens.get(authToken) : undefined;
		if (!expires || expires <= Date.now()) {
			stats().auth_failures++;
			return fail(answer(OPPO_SIM_CODES.invalidAuthToken, "Invalid AuthToken"));
		}
		const bad = (message: string) => fail(answer(OPPO_SIM_CODES.invalidArguments, `Invalid Arguments: ${message}`));
		if (!Array.isArray(messages) || list.length !== messages.length || list.length === 0) return bad("messages");
		if (list.length > MAX_MESSAGES) return bad(`at most ${MAX_MESSAGES} messages`);
		for (const m of list) {
			if (m.target_type !== 2 || typeof m.target_value !== "string" || !m.target_value) return bad("target");
			const problem = checkNotification(m.notification);
			if (problem) return bad(problem);
		}
		// Registration ids name their region; the wrong host does not know them.
		for (const r of regIds) if (regionOf(r) !== region) return bad(`registration_id ${r} belongs to the other region`);

		const faults = ctx.state.takeBatchFaults("oppo", regIds);
		const fault = faults.request;
		await faultDelay(ctx, fault);
		const invalid = new Set(regIds.filter((r) => r.startsWith("invalid-") || r.includes("_invalid-")));
		for (const r of faults.perToken.keys()) invalid.add(r);
		if (fault) {
			switch (fault.kind) {
				case "429":
				case "too_many_provider_token_updates":
					return fail(
						answer(
							OPPO_SIM_CODES.callFrequencyLimit,
							"App Call Frequency Limit",
							undefined,
							fault.kind === "429" ? 429 : 200,
							retryAfter(fault),
						),
						fault,
					);
				case "503":
					return fail(answer(OPPO_SIM_CODES.flowControl, "Service in Flow Control", undefined, 503, retryAfter(fault)), fault);
				case "500":
					return fail(
						answer(OPPO_SIM_CODES.unavailable, "Service Currently Unavailable", undefined, 500, retryAfter(fault)),
						fault,
					);
				case "auth":
					tokens.delete(authToken as string);
					stats().auth_failures++;
					return fail(answer(OPPO_SIM_CODES.invalidAuthToken, "Invalid AuthToken"), fault);
				case "quota":
					return fail(answer(OPPO_SIM_CODES.dailyLimit, "The number of messages exceeds the daily limit"), fault);
				case "410":
				case "unregistered":
				case "bad_token":
					for (const r of regIds) invalid.add(r);
					break;
				case "slow":
					break;
			}
		}
		const data = regIds.map((r) =>
			invalid.has(r)
				? { registrationId: r, errorCode: OPPO_SIM_CODES.invalidRegistrationId, errorMessage: "Invalid Registration_id" }
				: { registrationId: r, messageId: `${creds.app_key.slice(0, 8)}-1-1-${randomToken(12, "hex")}` },
		);
		record((r) =>
			invalid.has(r)
				? { status: 200, ok: false, reason: "10000", ...(fault ? { fault: fault.kind } : {}) }
				: { status: 200, ok: true, ...(fault?.kind === "slow" || fault?.kind === "no_receipt" ? { fault: fault.kind } : {}) },
		);
		if (fault?.kind !== "no_receipt") sendReceipts(list, data);
		return answer(OPPO_SIM_CODES.ok, "", data);
	}

	/** One receipt post per message that asked for one (call_back_url), for its accepted targets. */
	function sendReceipts(list: Record<string, unknown>[], data: { registrationId: string; messageId?: string }[]) {
		list.forEach((m, i) => {
			const n = isObject(m.notification) ? m.notification : {};
			const sent = data[i];
			if (typeof n.call_back_url !== "string" || !sent?.messageId) return;
			postReceipt(ctx, "oppo", n.call_back_url, [
				{
					messageId: sent.messageId,
					appId: creds.app_key,
					taskId: sent.messageId,
					registrationIds: sent.registrationId,
					eventTime: String(Date.now()),
					param: typeof n.call_back_parameter === "string" ? n.call_back_parameter : "",
					eventType: "push_arrive",
				},
			]);
		});
	}

	return { auth, unicastBatch };
}

/** OPPO: `<id>`, `CN_<id>`, `OPPO_CN_<id>` are domestic; another region code is overseas. */
function regionOf(regId: string): "cn" | "intl" {
	const parts = regId.split("_");
	const region = parts.length === 2 ? parts[0] : parts.length === 3 ? parts[1] : "CN";
	return region?.toUpperCase() === "CN" ? "cn" : "intl";
}

function checkNotification(n: unknown): string | undefined {
	if (!isObject(n)) return "notification must be an object";
	const len = (v: unknown) => (typeof v === "string" ? Array.from(v).length : -1);
	if (len(n.title) < 1 || len(n.title) > 50) return "title must be 1-50 characters";
	if (len(n.content) < 1 || len(n.content) > 200) return "content must be 1-200 characters";
	if (n.off_line_ttl !== undefined && (typeof n.off_line_ttl !== "number" || n.off_line_ttl < 0 || n.off_line_ttl > 864000))
		return "off_line_ttl must be 0-864000 seconds";
	if (n.notify_level !== undefined && ![1, 2, 16].includes(n.notify_level as number)) return "notify_level must be 1, 2 or 16";
	if (Buffer.byteLength(JSON.stringify(n)) > 4096) return "notification exceeds 4096 bytes";
	return undefined;
}
