import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { connectRequest } from "../delivery/helpers.js";
import { type Answer, call } from "../http.js";

/** A syntactically valid Web Push subscription (65-byte P-256 point, 16-byte auth secret). */
export function webPushSubscription(endpoint = "https://push.example.com/send/abc123") {
	const p256dh = b64url(new Uint8Array(65).map((_, i) => (i === 0 ? 4 : i)));
	const auth = b64url(new Uint8Array(16).map((_, i) => i + 1));
	return { endpoint, keys: { p256dh, auth } };
}

export function b64url(bytes: Uint8Array): string {
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a JWT's payload without verifying it: what a client library would read. */
export function jwtPayload(token: string): Record<string, unknown> {
	const parts = token.split(".");
	expect(parts).toHaveLength(3);
	const b64 = parts[1]!.replace(/-/g, "+").replace(/_/g, "/");
	return JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
}

export const TABLES = [
	"apps",
	"api_keys",
	"users",
	"devices",
	"user_tags",
	"messages",
	"audit_log",
	"webhook_endpoints",
	"webhook_deliveries",
] as const;
export type Snapshot = Record<(typeof TABLES)[number], unknown[]>;

/** Rows in an order that depends only on their content (some tables have no rowid to order by). */
export function stable(rows: unknown[]): unknown[] {
	return rows
		.map((r) => JSON.stringify(r))
		.sort()
		.map((r) => JSON.parse(r));
}

/** Every row of every table, in a stable order: compared before and after a rejected request. */
export async function snapshot(): Promise<Snapshot> {
	const out = {} as Snapshot;
	for (const table of TABLES) {
		const { results } = await env.DB.prepare(`SELECT * FROM ${table}`).all();
		out[table] = stable(results);
	}
	return out;
}

/** Rows of one app only (every table but audit_log and apps carries app_id). */
export async function appRows(appId: string): Promise<Snapshot> {
	const out = {} as Snapshot;
	for (const table of TABLES) {
		const column = table === "apps" ? "id" : "app_id";
		const { results } = await env.DB.prepare(`SELECT * FROM ${table} WHERE ${column} = ?`).bind(appId).all();
		out[table] = stable(results);
	}
	return out;
}

/** The contract's error body, with the given status and code. */
export function expectError(res: Answer, status: number, code: string) {
	expect(res.status, res.text).toBe(status);
	expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
	expect(res.body, res.text).toBeTypeOf("object");
	expect(Object.keys(res.body)).toEqual(["error"]);
	const error = res.body.error;
	expect(error.code).toBe(code);
	expect(typeof error.message).toBe("string");
	expect(error.message.length).toBeGreaterThan(0);
	for (const key of Object.keys(error)) expect(["code", "message", "details"]).toContain(key);
	if (error.details !== undefined) {
		expect(Array.isArray(error.details)).toBe(true);
		expect(error.details.length).toBeGreaterThan(0);
		for (const d of error.details) {
			expect(typeof d.path).toBe("string");
			expect(typeof d.message).toBe("string");
		}
	}
	return error as { code: string; message: string; details?: { path: string; message: string }[] };
}

export function detailPaths(res: Answer): string[] {
	return (res.body?.error?.details ?? []).map((d: { path: string }) => d.path);
}

export const id = (n: number, ch = "a") => ch.repeat(n);

/** A device's WebSocket through the Worker: says hello and collects every frame. */
export async function openSocket(token: string, device: string) {
	const res = await connectRequest({ token, device });
	expect(res.status).toBe(101);
	const ws = res.webSocket!;
	const frames: Record<string, unknown>[] = [];
	ws.accept();
	ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
	ws.send(JSON.stringify({ type: "hello", last_seq: 0 }));
	await waitFor(() => frames.some((fr) => fr.type === "welcome"));
	return { ws, frames, close: () => ws.close(1000, "done") };
}

export async function waitFor(check: () => boolean, timeoutMs = 5000) {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error("condition not met in time");
		await new Promise((r) => setTimeout(r, 20));
	}
}

/** The bindings after an ENCRYPTION_KEY rotation: a new key (version 2), the old one as previous. */
export function rotatedKeyEnv(): Env {
	return {
		...env,
		ENCRYPTION_KEY: b64url(crypto.getRandomValues(new Uint8Array(32))),
		ENCRYPTION_KEY_VERSION: "2",
		ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY,
	} as Env;
}

/**
 * A message to `user` (WebSocket only, so no vendor is called) whose ledger records each device as
 * `sent` on its vendor channel with the token `token(messageId)`, as the vendor queue does: vendor
 * receipts naming those tokens can then count.
 */
export async function vendorSentMessage(
	app: { key: string; appId: string },
	user: string,
	devices: { channel: string; deviceId: string; token: (messageId: string) => string }[],
): Promise<string> {
	const res = await call("POST", "/v1/messages", app.key, {
		audience: { users: [user] },
		content: { type: "text", title: "hi", body: "there" },
		options: { channels: "ws" },
	});
	expect(res.status, res.text).toBe(202);
	const id = res.body.id as string;
	const ledger = env.LEDGER.get(env.LEDGER.idFromName(`${app.appId}/${id}`));
	for (const d of devices) {
		await ledger.recordVendor(d.channel, [{ userId: user, deviceId: d.deviceId, outcome: "sent", token: d.token(id) }]);
	}
	return id;
}
