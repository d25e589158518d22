/** HTTP for every workerd test: the shared JSON helper bound to the Worker's own fetch handler. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { type Answer, answer, type CallOptions, jsonApi } from "../support/http.js";

export type { Answer, CallOptions };

export const ADMIN = "test-admin-token";
export const BASE = "http://warbler.test";

/** One request through the Worker's fetch handler, JSON in and out. */
export const call = jsonApi((url, init) => exports.default.fetch(url, init), BASE);

/** A request built by hand (any URL and init), read like `call`'s answers. */
export function send(url: string, init: RequestInit): Promise<Answer> {
	return answer(exports.default.fetch(url, init));
}

export interface TestApp {
	appId: string;
	/** The first key's secret: all scopes. */
	key: string;
	keyId: string;
}

export async function newApp(name = "test app", plan?: string): Promise<TestApp> {
	const res = await call("POST", "/v1/apps", ADMIN, plan ? { name, plan } : { name });
	expect(res.status, res.text).toBe(201);
	return { appId: res.body.id, key: res.body.key.secret, keyId: res.body.key.id };
}

export async function newKey(appId: string, scopes?: string[], name = "k") {
	const res = await call("POST", `/v1/apps/${appId}/keys`, ADMIN, scopes ? { name, scopes } : { name });
	expect(res.status, res.text).toBe(201);
	return { id: res.body.id as string, secret: res.body.secret as string };
}

/** Calls that must succeed, for arranging state. */
export async function ok(method: string, path: string, token: string, body?: unknown) {
	const res = await call(method, path, token, body);
	expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
	return res.body;
}

/** A client token for one user's devices. */
export async function clientToken(key: string, userId: string, ttl = 3600) {
	const res = await call("POST", `/v1/users/${userId}/tokens`, key, { ttl_seconds: ttl });
	expect(res.status, res.text).toBe(201);
	return res.body.token as string;
}
