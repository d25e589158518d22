/**
 * Vendor channels against the local vendor simulator (sim/server.ts): each channel sends and the
 * simulator records what it got; the Web Push body decrypts to the content; Unregistered/410 →
 * invalid_token; 429 with Retry-After → retry(afterSeconds); 500 → retry; an expired provider/access
 * token → exactly one refresh; batches for HMS and Xiaomi.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { vendorEndpoints } from "../../core/channels/endpoints.js";
import { channels } from "../../core/channels/registry.js";
import type {
	AccessTokens,
	Channel,
	PushOptions,
	PushTarget,
	SendContext,
	SendOutcome,
	VendorChannelId,
	VendorEndpoints,
	WebPushSubscriptionJson,
} from "../../core/channels/types.js";
import { completeWebPushCredentials } from "../../core/channels/webpush/index.js";
import type { MessageContent } from "../../protocol/message.js";
import { type RunningSimulator, simulatorEnv, startSimulator } from "../../sim/server.ts";

let sim: RunningSimulator;
let endpoints: VendorEndpoints;
let creds: Record<VendorChannelId, unknown>;
let tokens: TestTokens;

/** What the per-app token cache does in production: mint once, hand out the cached token, mint again on forceRefresh. */
class TestTokens implements AccessTokens {
	mints: Partial<Record<VendorChannelId, number>> = {};
	forced: Partial<Record<VendorChannelId, number>> = {};
	private cache = new Map<VendorChannelId, string>();
	constructor(private readonly credentials: () => Record<VendorChannelId, unknown>) {}

	async get(channel: VendorChannelId, opts?: { forceRefresh?: boolean }): Promise<string> {
		if (opts?.forceRefresh) this.forced[channel] = (this.forced[channel] ?? 0) + 1;
		const cached = this.cache.get(channel);
		if (cached && !opts?.forceRefresh) return cached;
		const mint = channels[channel].mintAccessToken;
		if (!mint) throw new Error(`${channel} has no access token`);
		const minted = await mint(this.credentials()[channel], endpoints, fetch);
		this.mints[channel] = (this.mints[channel] ?? 0) + 1;
		this.cache.set(channel, minted.token);
		return minted.token;
	}

	resetCounts() {
		this.mints = {};
		this.forced = {};
	}
}

interface Delivery {
	channel: string;
	token: string;
	headers: Record<string, string>;
	payload: unknown;
	outcome: { status: number; ok: boolean; reason?: string; fault?: string };
	warnings?: string[];
}

async function simJson<T>(path: string, init?: RequestInit): Promise<T> {
	const res = await fetch(`${sim.url}${path}`, init);
	if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
	return (res.status === 204 ? undefined : await res.json()) as T;
}

const deliveries = (channel: VendorChannelId, token?: string) =>
	simJson<Delivery[]>(`/__sim/deliveries?channel=${channel}${token ? `&token=${encodeURIComponent(token)}` : ""}`);

const fault = (body: { channel: VendorChannelId; kind: string; token?: string; times?: number; retry_after?: number }) =>
	simJson("/__sim/faults", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

const stats = () =>
	simJson<Record<VendorChannelId, { requests: number; token_refreshes: number; auth_failures: number }>>("/__sim/stats");

function opts(over: Partial<PushOptions> = {}): PushOptions {
	return { messageId: "msg_send_1", priority: "high", expiresAt: Date.now() + 3600_000, silent: false, ...over };
}

const content: MessageContent = {
	type: "text",
	title: "Hi there",
	body: "You have a new message — ünïcödé",
	url: "https://example.com/m/1",
	data: { order: "42", kind: "ship" },
};

let seq = 0;
const hexToken = () => (++seq).toString(16).padStart(8, "0").repeat(8);
const tok = (prefix = "tok") => `${prefix}-${++seq}-${"x".repeat(20)}`;
const targetsOf = (ts: string[]): PushTarget[] => ts.map((token, i) => ({ userId: `u${i}`, deviceId: `d${i}`, token }));

function ctxFor<C>(id: VendorChannelId, over: Partial<SendContext<C>> = {}): SendContext<C> {
	return { credentials: creds[id] as C, endpoints, tokens, fetch, ...over };
}

async function send(
	id: VendorChannelId,
	targets: PushTarget[],
	c: MessageContent = content,
	o = opts(),
	ctx?: SendContext<unknown>,
) {
	const channel = channels[id] as Channel<unknown>;
	const push = channel.build(c, o, creds[id]);
	const outcomes = await channel.send(push, targets, ctx ?? ctxFor(id));
	expect(outcomes).toHaveLength(targets.length);
	return { push, outcomes };
}

async function subscribe(): Promise<WebPushSubscriptionJson & { id: string }> {
	return simJson("/__sim/webpush/subscriptions", { method: "POST" });
}
const webTargets = (subs: WebPushSubscriptionJson[]): PushTarget[] =>
	subs.map((s, i) => ({ userId: `u${i}`, deviceId: `w${i}`, subscription: { endpoint: s.endpoint, keys: s.keys } }));

const kinds = (outcomes: SendOutcome[]) => outcomes.map((o) => o.kind);

beforeAll(async () => {
	sim = await startSimulator({ port: 0 });
	endpoints = vendorEndpoints({ WARBLER_ENV: "test", ...simulatorEnv(sim.url) } as { WARBLER_ENV: string });
	const webpush = await completeWebPushCredentials({ subject: "mailto:tests@warbler.dev" });
	creds = { ...(sim.credentials as unknown as Record<VendorChannelId, unknown>), webpush };
	// One cache for the whole file, as one per-app cache in production (APNs refuses refreshes faster than 20 minutes).
	tokens = new TestTokens(() => creds);
});

afterAll(async () => {
	await sim?.close();
});

beforeEach(async () => {
	await simJson("/__sim/reset", { method: "POST" });
	tokens.resetCounts();
});

describe("the simulator's credentials pass each channel's schema", () => {
	it.each(["apns", "fcm", "hms", "xiaomi", "webpush"] as const)("%s", async (id) => {
		const parsed = await channels[id].credentialSchema.safeParseAsync(creds[id]);
		expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
	});
});

describe("each channel sends and the simulator records the payload", () => {
	it("APNs: one request per token, payload and apns-* headers as built", async () => {
		const ts = [hexToken(), hexToken()];
		const { push, outcomes } = await send("apns", targetsOf(ts), content, opts({ collapseKey: "conv-1", badge: 2 }));
		expect(kinds(outcomes)).toEqual(["ok", "ok"]);
		expect(outcomes[0]).toMatchObject({ vendorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
		for (const t of ts) {
			const [d] = await deliveries("apns", t);
			expect(d?.outcome.ok).toBe(true);
			expect(d?.payload).toEqual(push.body);
			expect(d?.headers).toMatchObject({
				"apns-topic": "dev.warbler.demo",
				"apns-push-type": "alert",
				"apns-priority": "10",
				"apns-collapse-id": "conv-1",
				authorization: "bearer [redacted]",
			});
			expect(d?.warnings).toBeUndefined();
		}
		expect(tokens.mints.apns ?? 0).toBeLessThanOrEqual(1);
	});

	it("APNs: a silent push is a background push the simulator accepts without warnings", async () => {
		const t = hexToken();
		const { outcomes } = await send("apns", targetsOf([t]), content, opts({ silent: true }));
		expect(kinds(outcomes)).toEqual(["ok"]);
		const [d] = await deliveries("apns", t);
		expect(d?.headers).toMatchObject({ "apns-push-type": "background", "apns-priority": "5" });
		expect(d?.warnings).toBeUndefined();
	});

	it("FCM: one messages:send per token with the OAuth access token", async () => {
		const ts = [tok(), tok()];
		const { push, outcomes } = await send("fcm", targetsOf(ts), {
			...content,
			media: { url: "https://cdn/x.png", mime: "image/png" },
		});
		expect(kinds(outcomes)).toEqual(["ok", "ok"]);
		expect(outcomes[0]).toMatchObject({ vendorId: expect.stringMatching(/^projects\/warbler-sim-\d+\/messages\//) });
		const [d] = await deliveries("fcm", ts[1]);
		const message = (push.body as { message: Record<string, unknown> }).message;
		expect(d?.payload).toEqual({ message: { ...message, token: ts[1] } });
		expect((await stats()).fcm.token_refreshes).toBeLessThanOrEqual(1);
	});

	it("FCM: silent data-only push", async () => {
		const t = tok();
		const { outcomes } = await send("fcm", targetsOf([t]), content, opts({ silent: true, priority: "normal" }));
		expect(kinds(outcomes)).toEqual(["ok"]);
		const [d] = await deliveries("fcm", t);
		expect((d?.payload as { message?: Record<string, unknown> } | undefined)?.message).not.toHaveProperty("notification");
	});

	it("HMS: one request carries the whole batch", async () => {
		const ts = [tok(), tok(), tok()];
		const { push, outcomes } = await send("hms", targetsOf(ts), content, opts({ collapseKey: "c" }));
		expect(kinds(outcomes)).toEqual(["ok", "ok", "ok"]);
		expect((await stats()).hms.requests).toBe(1);
		const [d] = await deliveries("hms", ts[2]);
		const message = (push.body as { message: Record<string, unknown> }).message;
		expect(d?.payload).toEqual({ validate_only: false, message: { ...message, token: ts } });
	});

	it("HMS: more than 1,000 tokens go in requests of at most 1,000", async () => {
		const ts = Array.from({ length: 1001 }, () => tok());
		const { outcomes } = await send("hms", targetsOf(ts), content, opts({ silent: true }));
		expect(outcomes.every((o) => o.kind === "ok")).toBe(true);
		expect((await stats()).hms.requests).toBe(2);
	});

	it("Xiaomi: one form-encoded request per batch, regids joined by commas", async () => {
		const ts = [tok(), tok()];
		const { push, outcomes } = await send("xiaomi", targetsOf(ts), content);
		expect(kinds(outcomes)).toEqual(["ok", "ok"]);
		expect(outcomes[0]).toMatchObject({ vendorId: expect.stringMatching(/^scm/) });
		expect((await stats()).xiaomi.requests).toBe(1);
		const [d] = await deliveries("xiaomi", ts[0]);
		expect(d?.payload).toEqual({ ...(push.body as Record<string, string>), registration_id: ts.join(",") });
		expect(d?.headers.authorization).toBe("key [redacted]");
	});

	it("Xiaomi: silent is pass-through", async () => {
		const t = tok();
		const { outcomes } = await send("xiaomi", targetsOf([t]), content, opts({ silent: true }));
		expect(kinds(outcomes)).toEqual(["ok"]);
		const [d] = await deliveries("xiaomi", t);
		expect(d?.payload).toMatchObject({ pass_through: "1" });
	});

	it("Web Push: VAPID-signed aes128gcm body that decrypts (http_ece) to the rendered content", async () => {
		const subs = [await subscribe(), await subscribe()];
		const { push, outcomes } = await send("webpush", webTargets(subs), content, opts({ collapseKey: "conv-1" }));
		expect(kinds(outcomes)).toEqual(["ok", "ok"]);
		for (const s of subs) {
			const [d] = await deliveries("webpush", s.id);
			expect(d?.outcome.ok).toBe(true);
			expect(JSON.parse(d?.payload as string)).toEqual(push.body);
			expect(JSON.parse(d?.payload as string)).toMatchObject({
				title: "Hi there",
				body: content.body,
				url: content.url,
				message_id: "msg_send_1",
			});
			expect(d?.headers).toMatchObject({
				"content-encoding": "aes128gcm",
				ttl: expect.stringMatching(/^\d+$/),
				urgency: "high",
				topic: "conv-1",
			});
			expect(d?.warnings).toBeUndefined();
		}
	});

	it("Web Push: a payload right at 3,993 bytes still decrypts", async () => {
		const s = await subscribe();
		const base = channels.webpush.build({ type: "text", body: "x" }, opts(), creds.webpush).size - 1;
		const big: MessageContent = { type: "text", body: "é".repeat(Math.floor((3993 - base) / 2)) };
		const { push, outcomes } = await send("webpush", webTargets([s]), big);
		expect(push.size).toBeGreaterThan(3990);
		expect(push.size).toBeLessThanOrEqual(3993);
		expect(kinds(outcomes)).toEqual(["ok"]);
		const [d] = await deliveries("webpush", s.id);
		expect(JSON.parse(d?.payload as string)).toEqual(push.body);
	});
});

describe("gone tokens → invalid_token", () => {
	it("APNs 410 Unregistered and 400 BadDeviceToken", async () => {
		const good = hexToken();
		const bad = hexToken();
		await fault({ channel: "apns", kind: "bad_token", token: bad });
		const { outcomes } = await send("apns", targetsOf([good, "invalid-gone", bad]));
		expect(outcomes[0]?.kind).toBe("ok");
		expect(outcomes[1]).toEqual({ kind: "invalid_token", reason: "apns 410 Unregistered" });
		expect(outcomes[2]).toEqual({ kind: "invalid_token", reason: "apns 400 BadDeviceToken" });
	});

	it("FCM UNREGISTERED (404) and an invalid registration token (400 message.token)", async () => {
		const bad = tok();
		await fault({ channel: "fcm", kind: "bad_token", token: bad });
		const { outcomes } = await send("fcm", targetsOf([tok(), "invalid-gone", bad]));
		expect(kinds(outcomes)).toEqual(["ok", "invalid_token", "invalid_token"]);
		expect(outcomes[1]).toMatchObject({ reason: "fcm 404 UNREGISTERED" });
	});

	it("HMS 80100000 partial success: only the illegal tokens", async () => {
		const ts = [tok(), "invalid-a", tok(), "invalid-b"];
		const { outcomes } = await send("hms", targetsOf(ts));
		expect(kinds(outcomes)).toEqual(["ok", "invalid_token", "ok", "invalid_token"]);
	});

	it("HMS 80300007: every token invalid", async () => {
		const { outcomes } = await send("hms", targetsOf(["invalid-1", "invalid-2"]));
		expect(outcomes).toEqual([
			{ kind: "invalid_token", reason: "hms 80300007 all tokens invalid" },
			{ kind: "invalid_token", reason: "hms 80300007 all tokens invalid" },
		]);
	});

	it("Xiaomi bad_regids, and 20301 when none is valid", async () => {
		const some = await send("xiaomi", targetsOf([tok(), "invalid-r1", tok()]));
		expect(kinds(some.outcomes)).toEqual(["ok", "invalid_token", "ok"]);
		const none = await send("xiaomi", targetsOf(["invalid-r2", "invalid-r3"]));
		expect(kinds(none.outcomes)).toEqual(["invalid_token", "invalid_token"]);
	});

	it("Xiaomi 20301 with a reason other than 'No valid targets!' rejects the push and disables nothing", async () => {
		// 20301 is Xiaomi's generic "send failed": only the all-regids-invalid reason may disable devices.
		const failing = (async () =>
			Response.json({
				result: "error",
				code: 20301,
				reason: "something else went wrong",
				description: "发送消息失败",
			})) as unknown as typeof fetch;
		const { outcomes } = await send("xiaomi", targetsOf([tok(), tok()]), content, opts(), ctxFor("xiaomi", { fetch: failing }));
		expect(kinds(outcomes)).toEqual(["rejected", "rejected"]);
	});

	it("Web Push 410 Gone after unsubscribe, 404 for an unknown subscription", async () => {
		const live = await subscribe();
		const gone = await subscribe();
		await simJson(`/__sim/webpush/subscriptions/${gone.id}`, { method: "DELETE" });
		const unknown = { ...live, endpoint: `${sim.url}/webpush/nosuchsubscription` };
		const { outcomes } = await send("webpush", webTargets([live, gone, unknown]));
		expect(outcomes).toEqual([
			{ kind: "ok", vendorId: expect.stringContaining("/webpush/messages/") },
			{ kind: "invalid_token", reason: "webpush 410" },
			{ kind: "invalid_token", reason: "webpush 404" },
		]);
	});

	it("targets without a token or subscription never reach the vendor", async () => {
		for (const id of ["apns", "fcm", "hms", "xiaomi", "webpush"] as const) {
			const { outcomes } = await send(id, [{ userId: "u", deviceId: "d" }]);
			expect(outcomes[0]?.kind).toBe("invalid_token");
		}
		const s = await stats();
		for (const id of ["apns", "fcm", "hms", "xiaomi", "webpush"] as const) expect(s[id].requests).toBe(0);
	});
});

describe("transient failures → retry", () => {
	const targetFor = async (id: VendorChannelId): Promise<{ targets: PushTarget[]; token: string }> => {
		if (id === "webpush") {
			const s = await subscribe();
			return { targets: webTargets([s]), token: s.id };
		}
		const t = id === "apns" ? hexToken() : tok();
		return { targets: targetsOf([t]), token: t };
	};

	it.each(["apns", "fcm", "hms", "xiaomi", "webpush"] as const)("%s: 429 with Retry-After → retry(afterSeconds)", async (id) => {
		const { targets, token } = await targetFor(id);
		await fault({ channel: id, kind: "429", token, retry_after: 7 });
		const { outcomes } = await send(id, targets);
		expect(outcomes[0]).toMatchObject({ kind: "retry", afterSeconds: 7 });
		// The next attempt goes through.
		expect(kinds((await send(id, targets)).outcomes)).toEqual(["ok"]);
	});

	it.each(["apns", "fcm", "hms", "xiaomi", "webpush"] as const)("%s: 500 → retry", async (id) => {
		const { targets, token } = await targetFor(id);
		await fault({ channel: id, kind: "500", token });
		const { outcomes } = await send(id, targets);
		expect(outcomes[0]?.kind).toBe("retry");
	});

	it.each(["apns", "fcm", "hms", "xiaomi", "webpush"] as const)("%s: 503 → retry", async (id) => {
		const { targets, token } = await targetFor(id);
		await fault({ channel: id, kind: "503", token });
		expect((await send(id, targets)).outcomes[0]?.kind).toBe("retry");
	});

	it("a vendor that cannot be reached → retry", async () => {
		const dead = { ...endpoints, xiaomi: { send: "http://127.0.0.1:1" } };
		const { outcomes } = await send("xiaomi", targetsOf([tok()]), content, opts(), ctxFor("xiaomi", { endpoints: dead }));
		expect(outcomes[0]).toMatchObject({ kind: "retry", reason: expect.stringContaining("xiaomi unreachable") });
	});
});

describe("expired provider/access token → exactly one refresh", () => {
	it("APNs 403 ExpiredProviderToken: one forced refresh for the whole batch, then delivered", async () => {
		await send("apns", targetsOf([hexToken()])); // a cached provider token exists
		tokens.resetCounts();
		await fault({ channel: "apns", kind: "auth" });
		const ts = [hexToken(), hexToken(), hexToken(), hexToken()];
		const { outcomes } = await send("apns", targetsOf(ts));
		expect(kinds(outcomes)).toEqual(["ok", "ok", "ok", "ok"]);
		expect(tokens.forced.apns).toBe(1);
		expect(tokens.mints.apns).toBe(1);
		const s = await stats();
		expect(s.apns.auth_failures).toBeGreaterThanOrEqual(1);
		expect((s.apns as { too_fast_token_refreshes?: number }).too_fast_token_refreshes ?? 0).toBe(0);
	});

	it("APNs: still refused after the refresh → rejected, no second refresh", async () => {
		await fault({ channel: "apns", kind: "auth", times: 2 });
		const { outcomes } = await send("apns", targetsOf([hexToken()]));
		expect(outcomes[0]).toMatchObject({ kind: "rejected", reason: expect.stringContaining("ExpiredProviderToken") });
		expect(tokens.forced.apns).toBe(1);
	});

	it("FCM 401: one refresh, then delivered", async () => {
		await send("fcm", targetsOf([tok()]));
		tokens.resetCounts();
		await simJson("/__sim/stats", { method: "DELETE" });
		await fault({ channel: "fcm", kind: "auth" });
		const { outcomes } = await send("fcm", targetsOf([tok(), tok(), tok()]));
		expect(kinds(outcomes)).toEqual(["ok", "ok", "ok"]);
		expect(tokens.forced.fcm).toBe(1);
		expect((await stats()).fcm.token_refreshes).toBe(1);
	});

	it("HMS 80200003: one refresh, the batch resent", async () => {
		await send("hms", targetsOf([tok()]));
		tokens.resetCounts();
		await simJson("/__sim/stats", { method: "DELETE" });
		await fault({ channel: "hms", kind: "auth" });
		const ts = [tok(), tok()];
		const { outcomes } = await send("hms", targetsOf(ts));
		expect(kinds(outcomes)).toEqual(["ok", "ok"]);
		expect(tokens.forced.hms).toBe(1);
		expect((await stats()).hms.requests).toBe(2);
	});

	it("a token cache that has nothing newer yet → retry later, still one forced refresh", async () => {
		// Like a cache that refuses a second mint within seconds: forceRefresh hands back the same token.
		const minted = await channels.fcm.mintAccessToken?.(creds.fcm, endpoints, fetch);
		let forced = 0;
		const stale: AccessTokens = {
			get: async (_id, o) => {
				if (o?.forceRefresh) forced++;
				return minted?.token ?? "";
			},
		};
		await fault({ channel: "fcm", kind: "auth" });
		const { outcomes } = await send("fcm", targetsOf([tok(), tok()]), content, opts(), ctxFor("fcm", { tokens: stale }));
		expect(kinds(outcomes)).toEqual(["retry", "retry"]);
		expect(outcomes[0]).toMatchObject({ reason: expect.stringContaining("no newer fcm access token yet") });
		expect(forced).toBe(1);
	});

	it("credentials the vendor refuses → rejected, not retried", async () => {
		const wrong = new TestTokens(() => ({ ...creds, hms: { ...(creds.hms as object), client_secret: "wrong" } }));
		const { outcomes } = await send("hms", targetsOf([tok()]), content, opts(), ctxFor("hms", { tokens: wrong }));
		expect(outcomes[0]).toMatchObject({ kind: "rejected", reason: expect.stringContaining("hms credentials refused") });
		expect(outcomes[0]?.kind === "rejected" && outcomes[0].reason).not.toContain("wrong");
		const xiaomi = await send("xiaomi", targetsOf([tok()]), content, opts(), {
			...ctxFor("xiaomi"),
			credentials: { ...(creds.xiaomi as object), app_secret: "wrong" },
		});
		expect(xiaomi.outcomes[0]).toMatchObject({ kind: "rejected", reason: expect.stringContaining("21301") });
	});
});

describe("Web Push endpoint policy", () => {
	it("local http endpoints only when the deployment allows them", async () => {
		const s = await subscribe();
		const strict = { ...endpoints, allowLocalWebPush: false };
		const { outcomes } = await send("webpush", webTargets([s]), content, opts(), ctxFor("webpush", { endpoints: strict }));
		expect(outcomes[0]).toEqual({ kind: "rejected", reason: "webpush endpoint must be https" });
		expect((await stats()).webpush.requests).toBe(0);
	});

	it("unusable subscription keys → invalid_token", async () => {
		const s = await subscribe();
		const broken = { ...s, keys: { p256dh: "AAAA", auth: s.keys.auth } };
		const { outcomes } = await send("webpush", webTargets([broken]));
		expect(outcomes[0]?.kind).toBe("invalid_token");
	});
});
