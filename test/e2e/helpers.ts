import { inject } from "vitest";
import { type Answer, jsonApi } from "../support/http.js";

export type { Answer };

export const baseUrl = inject("baseUrl");
export const adminToken = inject("adminToken");

/** JSON calls over real HTTP to the stack at `url` (see test/support/http.ts for the conventions). */
export const apiAt = (url: string) => jsonApi((u, init) => fetch(u, init), url);

/** One JSON call to the local stack the e2e run started. */
export const api = apiAt(baseUrl);

/** Asserts the contract's error shape and returns its code. */
export function errorCode(r: Answer): string {
	const e = r.body?.error;
	if (!e || typeof e.code !== "string" || typeof e.message !== "string") {
		throw new Error(`not a contract error body (status ${r.status}): ${r.text.slice(0, 300)}`);
	}
	return e.code;
}

/** A new app with its first (all-scope) key; names are unique per call. */
export async function createApp(name = "e2e"): Promise<{ id: string; key: string; keyId: string }> {
	const r = await api("POST", "/v1/apps", adminToken, { name: `${name}-${crypto.randomUUID().slice(0, 8)}` });
	if (r.status !== 201) throw new Error(`POST /v1/apps answered ${r.status}: ${r.text}`);
	return { id: r.body.id, key: r.body.key.secret, keyId: r.body.key.id };
}

export function wsUrl(token: string, device: string): string {
	return `${baseUrl.replace(/^http/, "ws")}/v1/connect?token=${encodeURIComponent(token)}&device=${encodeURIComponent(device)}`;
}
