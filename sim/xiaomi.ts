/**
 * Xiaomi (Mi Push) server API: `POST /v3/message/regid` (as https://api.xmpush.xiaomi.com), form
 * fields, `Authorization: key=<AppSecret>`, up to 1,000 comma-separated registration ids. Answers
 * `{result, code, data:{id, bad_regids?}, info, description, trace_id}` with HTTP 200, errors included.
 */
import { faultDelay, PAYLOAD_LIMIT, retryAfter, type SimContext } from "./context.ts";
import { header, json, randomToken, redactHeaders, type SimRequest, type SimResponse } from "./http.ts";
import { postReceipt } from "./receipts.ts";
import type { Fault, Outcome } from "./state.ts";

const MAX_REGIDS = 1000;
const MAX_TTL_MS = 14 * 24 * 3600 * 1000;

/**
 * Result codes. 0, 21301 (authentication failed, "Invalid application secret.") and 20301 (no valid
 * target) are Xiaomi's; 200001 with reason "exceed quota, quota: <day's total>, have acked: <delivered>"
 * is its daily-quota answer ("推送消息限制说明" FAQ 3.1, dev.mi.com/xiaomihyperos/documentation/detail?pId=1656);
 * 10017 ("参数值非法") for any other parameter problem is the simulator's own choice.
 */
export const XIAOMI_CODES = { ok: 0, auth: 21301, noValidTargets: 20301, badParameter: 10017, dailyQuota: 200001 } as const;

const traceId = () => `Xcm${randomToken(9, "hex")}`;

function error(code: number, reason: string, description: string, status = 200, headers?: Record<string, string>): SimResponse {
	return json(status, { result: "error", code, reason, description, trace_id: traceId() }, headers);
}

export function createXiaomi(ctx: SimContext) {
	const creds = ctx.keys.credentials.xiaomi;
	const stats = () => ctx.state.stats.xiaomi;

	return async function handle(req: SimRequest): Promise<SimResponse> {
		if (req.method !== "POST") return error(XIAOMI_CODES.badParameter, "Use POST", "参数错误", 405);
		stats().requests++;
		const form = new URLSearchParams(req.body.toString("utf8"));
		const fields: Record<string, string> = {};
		for (const [k, v] of form) fields[k] = v;
		const regids = (form.get("registration_id") ?? "")
			.split(",")
			.map((s) => s.trim())
			.filter(Boolean);
		const headers = redactHeaders(req.headers);
		const finish = (response: SimResponse, outcomeOf: (regid: string) => Outcome): SimResponse => {
			for (const regid of regids.length ? regids : [""]) {
				ctx.state.record({ channel: "xiaomi", token: regid, headers, payload: fields, outcome: outcomeOf(regid) });
			}
			return response;
		};
		const fail = (response: SimResponse, fault?: Fault): SimResponse => {
			const code = (response.json as { code?: number } | undefined)?.code;
			return finish(response, () => ({
				status: response.status,
				ok: false,
				...(code !== undefined ? { reason: String(code) } : {}),
				...(fault ? { fault: fault.kind } : {}),
			}));
		};

		if (header(req, "authorization") !== `key=${creds.app_secret}`) {
			stats().auth_failures++;
			return fail(error(XIAOMI_CODES.auth, "Invalid application secret.", "认证失败"));
		}
		const bad = (reason: string) => fail(error(XIAOMI_CODES.badParameter, reason, "参数错误"));
		if (req.truncated) return bad("payload is too long");
		const contentType = header(req, "content-type") ?? "";
		if (!contentType.startsWith("application/x-www-form-urlencoded"))
			return bad("content-type must be application/x-www-form-urlencoded");
		if (regids.length === 0) return bad("registration_id is required");
		if (regids.length > MAX_REGIDS) return bad(`at most ${MAX_REGIDS} registration_id per request`);
		if (fields.restricted_package_name !== creds.package_name) return bad("Invalid restricted_package_name");
		const passThrough = fields.pass_through ?? "0";
		if (passThrough !== "0" && passThrough !== "1") return bad("pass_through must be 0 or 1");
		if (passThrough === "0" && (!fields.title || !fields.description))
			return bad("title and description are required for notifications");
		if (fields.notify_type !== undefined && !/^-?\d+$/.test(fields.notify_type)) return bad("notify_type must be an integer");
		if (fields.time_to_live !== undefined) {
			const ttl = Number(fields.time_to_live);
			if (!/^\d+$/.test(fields.time_to_live) || ttl > MAX_TTL_MS)
				return bad("time_to_live must be milliseconds, at most 2 weeks");
		}
		if (fields.notify_id !== undefined && !/^\d+$/.test(fields.notify_id)) return bad("notify_id must be a non-negative integer");
		if (Buffer.byteLength(fields.payload ?? "") > PAYLOAD_LIMIT) return bad(`payload exceeds ${PAYLOAD_LIMIT} bytes`);

		const faults = ctx.state.takeBatchFaults("xiaomi", regids);
		const fault = faults.request;
		await faultDelay(ctx, fault);
		const badRegids = new Set(regids.filter((r) => r.startsWith("invalid-")));
		for (const r of faults.perToken.keys()) badRegids.add(r);
		if (fault) {
			switch (fault.kind) {
				case "slow":
					break;
				case "429":
				case "500":
				case "503":
				case "too_many_provider_token_updates": {
					const status = fault.kind === "too_many_provider_token_updates" ? 429 : Number(fault.kind);
					// The HTTP status carries the signal; the code is the simulator's.
					return fail(error(status, `simulated HTTP ${status}`, "系统繁忙", status, retryAfter(fault)), fault);
				}
				case "auth":
					stats().auth_failures++;
					return fail(error(XIAOMI_CODES.auth, "Invalid application secret.", "认证失败"), fault);
				case "quota":
					return fail(error(XIAOMI_CODES.dailyQuota, "exceed quota, quota: 20000, have acked: 20000", "超过每日限额"), fault);
				case "410":
				case "unregistered":
				case "bad_token":
					for (const r of regids) badRegids.add(r);
					break;
			}
		}
		const outcomeOf = (r: string): Outcome => {
			const f = faults.perToken.get(r) ?? (fault && (fault.kind === "slow" || badRegids.has(r)) ? fault : undefined);
			return badRegids.has(r)
				? { status: 200, ok: false, reason: "bad_regid", ...(f ? { fault: f.kind } : {}) }
				: { status: 200, ok: true, ...(f ? { fault: f.kind } : {}) };
		};
		if (badRegids.size === regids.length) {
			return finish(error(XIAOMI_CODES.noValidTargets, "No valid targets!", "发送消息失败"), outcomeOf);
		}
		const data: Record<string, string> = { id: `scm${randomToken(10, "hex")}` };
		if (badRegids.size > 0) data.bad_regids = [...badRegids].join(",");
		// An arrival receipt for the accepted regids when the push asked for one (core/receipts/parse.ts).
		const callback = fields["extra.callback"];
		if (callback && fault?.kind !== "no_receipt" && Number(fields["extra.callback.type"] ?? "3") & 1) {
			const receipt = {
				[data.id as string]: {
					param: fields["extra.callback.param"] ?? "",
					type: 1,
					targets: regids.filter((r) => !badRegids.has(r)).join(","),
					jobkey: fields["extra.jobkey"] ?? "",
					barStatus: "Enable",
					timestamp: Date.now(),
				},
			};
			postReceipt(ctx, "xiaomi", callback, new URLSearchParams({ data: JSON.stringify(receipt) }));
		}
		return finish(
			json(200, {
				result: "ok",
				code: XIAOMI_CODES.ok,
				description: "成功",
				data,
				info: `Received push messages for ${regids.length - badRegids.size} REGID`,
				trace_id: traceId(),
			}),
			outcomeOf,
		);
	};
}
