/** The local vendor simulator (sim/) the stack's vendor endpoints point at: what it received, its faults, its credentials. */
import { expect, inject } from "vitest";
import { api } from "./helpers.js";
import { leakedIn, simulatorSecrets } from "./secrets.js";

export const simulatorUrl = inject("simulatorUrl");

/** One push the simulator received (sim/state.ts). */
export interface Delivery {
	channel: string;
	token: string;
	payload: unknown;
	outcome: { ok: boolean; status: number; reason?: string };
	/** ISO time the simulator received it. */
	at: string;
}

export async function simGet<T>(path: string): Promise<T> {
	return (await fetch(`${simulatorUrl}${path}`)).json() as Promise<T>;
}

export async function simPost(path: string, body?: unknown) {
	const res = await fetch(`${simulatorUrl}${path}`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	return res.json();
}

/** Every push the simulator accepted for one token so far. */
export async function acceptedFor(token: string): Promise<Delivery[]> {
	const all = await simGet<Delivery[]>(`/__sim/deliveries?token=${encodeURIComponent(token)}`);
	return all.filter((d) => d.outcome.ok);
}

/** Pushes the simulator accepted for one token (waits for at least `count`, then answers what it has). */
export async function deliveriesFor(token: string, count = 1, waitMs = 30_000): Promise<Delivery[]> {
	const deadline = Date.now() + waitMs;
	for (;;) {
		const ok = await acceptedFor(token);
		if (ok.length >= count || Date.now() > deadline) return ok;
		await new Promise((r) => setTimeout(r, 200));
	}
}

export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (check(v) || Date.now() > deadline) return v;
		await new Promise((r) => setTimeout(r, 250));
	}
}

/** Uploads the simulator's generated credentials for these channels to the app behind `key`. */
export async function useSimulatorCredentials(key: string, channels: readonly string[]) {
	const creds = await simGet<Record<string, unknown>>("/__sim/credentials");
	const secrets = simulatorSecrets(creds);
	for (const channel of channels) {
		const r = await api("PUT", `/v1/credentials/${channel}`, key, creds[channel]);
		expect(r.status, r.text).toBe(200);
		expect(r.text).not.toContain("PRIVATE KEY");
		expect(leakedIn(r.text, secrets)).toEqual([]);
	}
}
