import { isTransientStatus, networkRetry, readJson, retryAfterSeconds, VENDOR_TIMEOUT_MS } from "../common.js";
import { md5Hex } from "../md5.js";
import { sendInBatches } from "../token-retry.js";
import type { PushTarget, RenderedPush, SendContext, SendOutcome } from "../types.js";
import type { MeizuCredentials } from "./credentials.js";

/** pushByPushId: up to 1,000 comma-separated pushIds per request. */
export const MEIZU_MAX_PUSH_IDS = 1000;

/**
 * Flyme result codes (MEIZUPUSH node-sdk "返回码含义"): 200 OK; 500/501/513/518 (rate)/519
 * (overloaded)/1001/1003: retry; 520 folded (same device and app too often: dropped, counted
 * failed); 1005 bad parameter, 1006 signature failed, 110000 appId, 110001 appKey, 110009
 * blacklisted: refused; 110002 pushId not subscribed and 110003 pushId illegal: the device is
 * gone. A 200 answer lists the pushIds it could not use in `value` under these codes.
 */
export const MEIZU_CODES = {
	ok: "200",
	retry: new Set(["500", "501", "513", "518", "519", "1001", "1003"]),
	folded: "520",
	gone: new Set(["110002", "110003"]),
} as const;

/**
 * Flyme's signature: md5 of every parameter as `k=v`, keys sorted, concatenated without separator,
 * then the App Secret (MEIZUPUSH node-sdk lib/request.js "Meizu api signature algorithm").
 */
export function meizuSign(params: Record<string, string>, appSecret: string): string {
	const keys = Object.keys(params).sort();
	return md5Hex(keys.map((k) => `${k}=${params[k]}`).join("") + appSecret);
}

/**
 * `POST /garcia/api/server/push/varnished/pushByPushId` (notifications) or `…/unvarnished/…`
 * (pass-through), form appId, pushIds, messageJson and sign. No access token: every request is
 * signed with the App Secret.
 */
export async function sendMeizu(
	push: RenderedPush,
	targets: PushTarget[],
	ctx: SendContext<MeizuCredentials>,
): Promise<SendOutcome[]> {
	return sendInBatches(targets, MEIZU_MAX_PUSH_IDS, "no Meizu pushId", (batch) => sendBatch(push, batch, ctx));
}

async function sendBatch(push: RenderedPush, pushIds: string[], ctx: SendContext<MeizuCredentials>): Promise<SendOutcome[]> {
	const fetchFn = ctx.fetch;
	const all = (o: SendOutcome) => pushIds.map(() => o);
	const { messageJson, silent } = push.body as { messageJson: unknown; silent?: boolean };
	const params: Record<string, string> = {
		appId: ctx.credentials.app_id,
		pushIds: pushIds.join(","),
		messageJson: JSON.stringify(messageJson),
	};
	const form = new URLSearchParams({ ...params, sign: meizuSign(params, ctx.credentials.app_secret) });
	const kind = silent ? "unvarnished" : "varnished";
	let res: Response;
	try {
		res = await fetchFn(`${ctx.endpoints.meizu.send}/garcia/api/server/push/${kind}/pushByPushId`, {
			method: "POST",
			redirect: "manual",
			signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
			headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
			body: form.toString(),
		});
	} catch (err) {
		return all(networkRetry("meizu", err));
	}
	const json = (await readJson(res)) as { code?: unknown; message?: unknown; value?: unknown } | undefined;
	const code = typeof json?.code === "string" || typeof json?.code === "number" ? String(json.code) : undefined;
	const detail = typeof json?.message === "string" && json.message ? ` ${json.message.slice(0, 200)}` : "";
	const reason = `meizu ${res.status} ${code ?? "no code"}${detail}`;
	if (isTransientStatus(res.status) || (code !== undefined && MEIZU_CODES.retry.has(code))) {
		const after = retryAfterSeconds(res.headers);
		return all(after === undefined ? { kind: "retry", reason } : { kind: "retry", afterSeconds: after, reason });
	}
	if (code !== undefined && MEIZU_CODES.gone.has(code)) return all({ kind: "invalid_token", reason });
	if (!res.ok || code !== MEIZU_CODES.ok) return all({ kind: "rejected", reason });
	// value: {"110002": ["pushId", …], "520": […]} for the pushIds it did not take.
	const refused = new Map<string, string>();
	if (json?.value && typeof json.value === "object" && !Array.isArray(json.value)) {
		for (const [c, ids] of Object.entries(json.value as Record<string, unknown>)) {
			if (Array.isArray(ids)) for (const id of ids) if (typeof id === "string") refused.set(id, c);
		}
	}
	return pushIds.map((id): SendOutcome => {
		const c = refused.get(id);
		if (c === undefined) return { kind: "ok" };
		if (MEIZU_CODES.gone.has(c)) return { kind: "invalid_token", reason: `meizu ${c}` };
		return { kind: "rejected", reason: `meizu ${c}` };
	});
}
