import { adminApp, session } from "./store.js";

/**
 * Calls to the Worker's API with the session cookie (sent by the browser; never readable here). Every
 * call that changes something carries the session's CSRF token; an admin working on an app names it.
 */

export interface Session {
	kind: "admin" | "app";
	app_id: string | null;
	scopes: ("send" | "read" | "manage")[];
	expires_at: string;
	csrf_token: string;
}

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
	) {
		super(message);
	}
	/** The route does not exist in this deployment (yet): the page shows "not available". */
	get unavailable(): boolean {
		return this.status === 404 && this.code === "not_found" && /^No route /.test(this.message);
	}
}

let onSignedOut: () => void = () => {};

export function whenSignedOut(fn: () => void) {
	onSignedOut = fn;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
	// Read at call time: a page's first requests may run before any effect of the shell has.
	const current = session.get();
	const csrf = current?.csrf_token ?? "";
	const actingApp = current?.kind === "admin" ? adminApp.get() : null;
	const headers: Record<string, string> = {};
	if (body !== undefined) headers["content-type"] = "application/json";
	if (method !== "GET" && csrf) headers["x-warbler-csrf"] = csrf;
	if (actingApp && !path.startsWith("/v1/apps") && !path.startsWith("/v1/console")) headers["x-warbler-app"] = actingApp;
	const res = await fetch(path, {
		method,
		headers,
		credentials: "same-origin",
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	let data: unknown;
	try {
		data = text ? JSON.parse(text) : undefined;
	} catch {
		data = undefined;
	}
	if (!res.ok) {
		const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
		if (res.status === 401 && !path.startsWith("/v1/console/session")) onSignedOut();
		throw new ApiError(res.status, err?.code ?? "error", err?.message ?? `HTTP ${res.status}`);
	}
	return data as T;
}

/** GET that answers undefined instead of throwing when the route is not in this deployment. */
export async function getOptional<T>(path: string): Promise<T | undefined> {
	try {
		return await api<T>("GET", path);
	} catch (e) {
		if (e instanceof ApiError && e.unavailable) return undefined;
		throw e;
	}
}

export const enc = encodeURIComponent;
