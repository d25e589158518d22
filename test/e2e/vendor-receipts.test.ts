/**
 * Vendor receipts end to end: a local stack of its own whose PUBLIC_BASE_URL points at itself (the
 * shared stack runs without receipts), pushing to the OPPO, HMS, Xiaomi, Meizu and vivo simulators
 * (Xiaomi and Meizu post form-encoded receipts to the URL each push carries, vivo JSON keyed by its
 * taskId). OPPO gets the receipt URL with each push and posts an arrival; HMS posts to the URL "configured in AppGallery Connect"
 * (the simulator's PUT /__sim/receipts/hms), learnt from GET /v1/credentials/hms. The message's
 * `by_channel.<vendor>.delivered` becomes 1 and stays 1; a push whose receipt never comes counts none.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type Stack, startStack } from "../../scripts/stack.mjs";
import { apiAt } from "./helpers.js";

const RECEIPT_VENDORS = ["oppo", "hms", "xiaomi", "meizu", "vivo"] as const;

describe("vendor receipts (OPPO, HMS, Xiaomi, Meizu, vivo) on a stack with PUBLIC_BASE_URL", () => {
	let stack: Stack;
	let persistTo: string;
	let api: ReturnType<typeof apiAt>;
	let key: string;
	let sim: string;
	const stamp = Date.now().toString(36);
	const tokens = {
		oppo: `CN_oppo-r-${stamp}`,
		hms: `hms-r-${stamp}`,
		xiaomi: `xm-r-${stamp}`,
		meizu: `mz-r-${stamp}`,
		vivo: `vv-r-${stamp}`,
	};

	const simJson = async (method: string, path: string, body?: unknown) => {
		const res = await fetch(`${sim}${path}`, {
			method,
			headers: { "content-type": "application/json" },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return res.status === 204 ? undefined : res.json();
	};
	const counts = async (id: string) => (await api("GET", `/v1/messages/${id}`, key)).body.counts.by_channel;
	async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
		const deadline = Date.now() + ms;
		for (;;) {
			const v = await fn();
			if (ok(v) || Date.now() > deadline) return v;
			await new Promise((r) => setTimeout(r, 200));
		}
	}
	const send = async (user: string) => {
		const r = await api("POST", "/v1/messages", key, {
			audience: { users: [user] },
			content: { type: "text", title: "Order shipped", body: "On its way" },
			options: { channels: "vendor" },
		});
		expect(r.status, r.text).toBe(202);
		return r.body.id as string;
	};

	beforeAll(async () => {
		persistTo = mkdtempSync(join(tmpdir(), "warbler-e2e-receipts-"));
		for (let attempt = 1; ; attempt++) {
			const port = await freePort();
			try {
				stack = await startStack({
					port,
					persistTo,
					quiet: true,
					demo: false,
					vars: { PUBLIC_BASE_URL: `http://127.0.0.1:${port}` },
				});
				break;
			} catch (e) {
				if (attempt >= 3 || !String(e).includes("already in use")) throw e;
			}
		}
		api = apiAt(stack.baseUrl);
		sim = stack.simulatorUrl as string;
		const app = await api("POST", "/v1/apps", stack.adminToken, { name: "receipts-e2e" });
		expect(app.status, app.text).toBe(201);
		key = app.body.key.secret;
		const creds = (await simJson("GET", "/__sim/credentials")) as Record<string, unknown>;
		for (const c of RECEIPT_VENDORS) expect((await api("PUT", `/v1/credentials/${c}`, key, creds[c])).status).toBe(200);
		const hms = await api("GET", "/v1/credentials/hms", key);
		expect(hms.body.receipt_url).toMatch(new RegExp(`^${stack.baseUrl}/v1/receipts/hms/${app.body.id}/[A-Za-z0-9_-]{32}$`));
		await simJson("PUT", "/__sim/receipts/hms", { url: hms.body.receipt_url });
		for (const user of ["ming", "quiet"]) {
			for (const c of RECEIPT_VENDORS) {
				const d = { id: `${c}-${user}`, platform: "android", channel: c, token: `${tokens[c]}-${user}` };
				expect((await api("POST", `/v1/users/${user}/devices`, key, d)).status).toBe(201);
			}
		}
	}, 180_000);

	afterAll(async () => {
		await stack?.stop();
		if (persistTo) rmSync(persistTo, { recursive: true, force: true });
	});

	it("each vendor's arrival receipt makes by_channel.<vendor>.delivered 1, once", async () => {
		const id = await send("ming");
		const got = await until(
			() => counts(id),
			(c) => RECEIPT_VENDORS.every((v) => c[v]?.delivered === 1),
		);
		for (const v of RECEIPT_VENDORS) {
			expect(got[v], v).toEqual({ sent: 1, failed: 0, invalid_token: 0, quota_exceeded: 0, delivered: 1, clicked: 0 });
		}
		// What OPPO was given: the receipt URL and the message id as its parameter.
		const [oppo] = (await simJson("GET", `/__sim/deliveries?token=${tokens.oppo}-ming`)) as {
			payload: { notification: Record<string, string> };
		}[];
		expect(oppo?.payload.notification.call_back_url).toMatch(new RegExp(`^${stack.baseUrl}/v1/receipts/oppo/`));
		expect(oppo?.payload.notification.call_back_parameter).toBe(id);
		// Xiaomi's form fields and Meizu's messageJson.extra (both posted back form-encoded).
		const [xiaomi] = (await simJson("GET", `/__sim/deliveries?token=${tokens.xiaomi}-ming`)) as {
			payload: Record<string, string>;
		}[];
		expect(xiaomi?.payload["extra.callback"]).toMatch(new RegExp(`^${stack.baseUrl}/v1/receipts/xiaomi/`));
		expect(xiaomi?.payload["extra.callback.param"]).toBe(id);
		const [meizu] = (await simJson("GET", `/__sim/deliveries?token=${tokens.meizu}-ming`)) as {
			payload: { message: { extra?: Record<string, unknown> } };
		}[];
		expect(meizu?.payload.message.extra?.["callback.param"]).toBe(id);
		// vivo's single push: extra.callback (the receipt URL) and the message id as callback.param.
		const [vivo] = (await simJson("GET", `/__sim/deliveries?token=${tokens.vivo}-ming`)) as {
			payload: { extra?: Record<string, string> };
		}[];
		expect(vivo?.payload.extra?.callback).toMatch(new RegExp(`^${stack.baseUrl}/v1/receipts/vivo/`));
		expect(vivo?.payload.extra?.["callback.param"]).toBe(id);
		const view = await api("GET", `/v1/messages/${id}/recipients/ming`, key);
		for (const d of view.body.devices as { channel: string; delivered_at?: string }[]) {
			expect(d.delivered_at, d.channel).toMatch(/^\d{4}-\d\d-\d\dT/);
		}
		// The simulator's receipts were all answered 2xx; replaying one changes nothing.
		const stats = (await simJson("GET", "/__sim/stats")) as Record<string, { receipts_sent?: number; receipt_failures?: number }>;
		for (const v of RECEIPT_VENDORS) {
			expect(stats[v]?.receipts_sent, v).toBeGreaterThanOrEqual(1);
			expect(stats[v]?.receipt_failures ?? 0, v).toBe(0);
		}
		const replay = await fetch(oppo?.payload.notification.call_back_url as string, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify([{ registrationIds: `${tokens.oppo}-ming`, param: id, eventType: "push_arrive" }]),
		});
		expect(replay.status).toBe(200);
		const vivoReplay = await fetch(vivo?.payload.extra?.callback as string, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ "1": { param: id, targets: `${tokens.vivo}-ming`, ackTime: Date.now(), ackType: "0" } }),
		});
		expect(vivoReplay.status).toBe(200);
		const replayed = await counts(id);
		for (const v of RECEIPT_VENDORS) expect(replayed[v], v).toEqual(got[v]);
	});

	it("a push whose receipt never comes (no_receipt) counts sent but not delivered", async () => {
		for (const c of RECEIPT_VENDORS) await simJson("POST", "/__sim/faults", { channel: c, kind: "no_receipt", times: 1 });
		const id = await send("quiet");
		const got = await until(
			() => counts(id),
			(c) => RECEIPT_VENDORS.every((v) => c[v]?.sent === 1),
		);
		// Well past the simulator's receipt delay.
		await new Promise((r) => setTimeout(r, 1500));
		const after = await counts(id);
		for (const v of RECEIPT_VENDORS) {
			expect(got[v]?.sent, v).toBe(1);
			expect(after[v]?.delivered, v).toBeUndefined();
		}
	});
});
