import { inject } from "vitest";

export const baseUrl = inject("baseUrl");
export const adminToken = inject("adminToken");

// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON, read field by field in assertions
type Json = any;

export interface ApiResponse<T = Json> {
	status: number;
	headers: Headers;
	body: T;
	text: string;
}

/** One JSON call over real HTTP. `body` is serialized unless it is already a string. */
export async function api<T = Json>(
	method: string,
	path: string,
	token?: string,
	body?: unknown,
	headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
	const res = await fetch(`${baseUrl}${path}`, {
		method,
		headers: {
			...(token ? { authorization: `Bearer ${token}` } : {}),
			...(body === undefined ? {} : { "content-type": "application/json" }),
			...headers,
		},
		body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
	});
	const text = await res.text();
	let parsed: unknown;
	try {
		parsed = text ? JSON.parse(text) : undefined;
	} catch {
		parsed = undefined;
	}
	return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Asserts the contract's error shape and returns its code. */
export function errorCode(r: ApiResponse): string {
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
