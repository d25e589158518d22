/**
 * The channels inside the Workers runtime: core/channels bundled with esbuild (no Node built-ins)
 * and run in workerd through Miniflare, sending to the vendor simulator. Covers what Node would let
 * slip: WebCrypto (ES256/RS256 import, ECDH, AES-GCM) in workerd, jose's workerd build, and fetch
 * called the way workerd accepts it (the global fetch handed over as ctx.fetch).
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, simulatorEnv, startSimulator } from "../../sim/server.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The Worker under test: validates, masks, builds and sends on every channel, with the global fetch. */
const WORKER = `
import { channels } from "./core/channels/registry.ts";
import { vendorEndpoints } from "./core/channels/endpoints.ts";

export default {
	async fetch(request, env) {
		const { creds, targets, content, options } = await request.json();
		const endpoints = vendorEndpoints(env);
		const webpush = channels.webpush;
		creds.webpush = await webpush.completeCredentials({ subject: "mailto:workerd@warbler.dev" });
		const cache = new Map();
		const tokens = {
			async get(id, opts) {
				if (!opts?.forceRefresh && cache.has(id)) return cache.get(id);
				const minted = await channels[id].mintAccessToken(creds[id], endpoints, fetch);
				cache.set(id, minted.token);
				return minted.token;
			},
		};
		const out = {};
		for (const id of Object.keys(channels)) {
			const channel = channels[id];
			const valid = (await channel.credentialSchema.safeParseAsync(creds[id])).success;
			const push = channel.build(content, { ...options, expiresAt: Date.now() + 3_600_000 }, creds[id]);
			const outcomes = await channel.send(push, targets[id], { credentials: creds[id], endpoints, tokens, fetch });
			out[id] = { valid, mask: await channel.mask(creds[id]), body: push.body, outcomes };
		}
		return Response.json(out);
	},
};
`;

let sim: RunningSimulator;
let mf: Miniflare;

beforeAll(async () => {
	sim = await startSimulator({ port: 0 });
	const bundle = await build({
		stdin: { contents: WORKER, resolveDir: root, sourcefile: "channels-worker.js", loader: "js" },
		bundle: true,
		format: "esm",
		platform: "neutral",
		target: "es2022",
		mainFields: ["module", "main"],
		conditions: ["workerd", "worker", "browser"],
		write: false,
		logLevel: "silent",
	});
	const script = bundle.outputFiles[0]?.text ?? "";
	mf = new Miniflare(
		convertV4MiniflareOptions({
			modules: true,
			script,
			compatibilityDate: "2026-10-20",
			bindings: { WARBLER_ENV: "test", ...simulatorEnv(sim.url) },
		}),
	);
}, 60_000);

afterAll(async () => {
	await mf?.dispose();
	await sim?.close();
});

describe("channels in workerd", () => {
	it("every channel (OPPO, vivo, Honor, Meizu included) validates, masks, mints and delivers to the simulator", async () => {
		const sub = (await (await fetch(`${sim.url}/__sim/webpush/subscriptions`, { method: "POST" })).json()) as {
			endpoint: string;
			keys: { p256dh: string; auth: string };
		};
		const target = (token: string) => [{ userId: "u1", deviceId: "d1", token }];
		const res = await mf.dispatchFetch("http://worker/", {
			method: "POST",
			body: JSON.stringify({
				creds: sim.credentials,
				content: {
					type: "image",
					title: "From workerd",
					body: "Hello",
					media: { url: "https://cdn.example.com/p.png", mime: "image/png" },
					data: { k: "v" },
				},
				options: { messageId: "msg_workerd", priority: "high", silent: false, collapseKey: "c1" },
				targets: {
					apns: target("ab".repeat(32)),
					fcm: target("fcm-workerd"),
					hms: target("hms-workerd"),
					xiaomi: target("xiaomi-workerd"),
					oppo: target("CN_oppo-workerd"),
					vivo: target("vivo-workerd"),
					honor: target("honor-workerd"),
					meizu: target("meizu-workerd"),
					webpush: [{ userId: "u1", deviceId: "w1", subscription: { endpoint: sub.endpoint, keys: sub.keys } }],
				},
			}),
		});
		expect(res.status).toBe(200);
		const out = (await res.json()) as Record<
			string,
			{ valid: boolean; mask: Record<string, string>; body: unknown; outcomes: { kind: string; reason?: string }[] }
		>;
		const all = ["apns", "fcm", "hms", "honor", "meizu", "oppo", "vivo", "webpush", "xiaomi"];
		for (const id of all) {
			expect(out[id]?.valid, id).toBe(true);
			expect(out[id]?.outcomes, id).toEqual([expect.objectContaining({ kind: "ok" })]);
			expect(JSON.stringify(out[id]?.mask)).toMatch(/sha256:/);
		}
		const deliveries = (await (await fetch(`${sim.url}/__sim/deliveries`)).json()) as {
			channel: string;
			payload: unknown;
			outcome: { ok: boolean };
			warnings?: string[];
		}[];
		expect(deliveries.map((d) => d.channel).sort()).toEqual(all);
		for (const d of deliveries) {
			expect(d.outcome.ok, d.channel).toBe(true);
			expect(d.warnings, d.channel).toBeUndefined();
		}
		const web = deliveries.find((d) => d.channel === "webpush");
		expect(JSON.parse(web?.payload as string)).toEqual(out.webpush?.body);
	});
});
