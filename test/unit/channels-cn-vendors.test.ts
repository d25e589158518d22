/**
 * OPPO, vivo, Honor and Meizu: signatures against independently computed digests of the documented
 * schemes, pure builders (limits, classification), and each sender against the simulator for every
 * outcome: ok, batch with a dead token, invalid_token, retry (429 + Retry-After, 5xx), rejected,
 * quota_exceeded, and exactly one token refresh when the vendor refuses the cached token.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { channelIdFor, hmsCategory, messageClass, oppoVivoCategory } from "../../core/channels/category.js";
import { vendorEndpoints } from "../../core/channels/endpoints.js";
import { buildHmsPayload } from "../../core/channels/hms/index.js";
import { buildHonorPayload, HonorCredentialsSchema } from "../../core/channels/honor/index.js";
import { md5Hex } from "../../core/channels/md5.js";
import { buildMeizuPayload, MeizuCredentialsSchema, meizuSign } from "../../core/channels/meizu/index.js";
import {
	buildOppoPayload,
	mintOppoToken,
	OPPO_TOKEN_LIFETIME_MS,
	OppoCredentialsSchema,
	oppoHost,
	oppoSign,
} from "../../core/channels/oppo/index.js";
import { channels } from "../../core/channels/registry.js";
import type {
	AccessTokens,
	Channel,
	PushOptions,
	PushTarget,
	SendOutcome,
	VendorChannelId,
	VendorEndpoints,
} from "../../core/channels/types.js";
import {
	buildVivoPayload,
	mintVivoToken,
	truncateWidth,
	VIVO_TOKEN_LIFETIME_MS,
	VivoCredentialsSchema,
	vivoSign,
	vivoWidth,
} from "../../core/channels/vivo/index.js";
import { buildXiaomiPayload } from "../../core/channels/xiaomi/index.js";
import { quotaDay, windowDecision } from "../../core/rules/vendor-quotas.js";
import type { MessageContent } from "../../protocol/message.js";
import { type RunningSimulator, simulatorEnv, startSimulator } from "../../sim/server.ts";

type Cn = "oppo" | "vivo" | "honor" | "meizu";
const CN: Cn[] = ["oppo", "vivo", "honor", "meizu"];

let sim: RunningSimulator;
let endpoints: VendorEndpoints;
let creds: Record<Cn, unknown>;
let tokens: CountingTokens;

/** The per-app token cache as production has it: mint once, reuse, mint again only on forceRefresh. */
class CountingTokens implements AccessTokens {
	mints: Partial<Record<VendorChannelId, number>> = {};
	private cache = new Map<VendorChannelId, string>();
	async get(channel: VendorChannelId, opts?: { forceRefresh?: boolean }): Promise<string> {
		const cached = this.cache.get(channel);
		if (cached && !opts?.forceRefresh) return cached;
		const mint = channels[channel].mintAccessToken;
		if (!mint) throw new Error(`${channel} has no access token`);
		const minted = await mint(creds[channel as Cn], endpoints, fetch);
		this.mints[channel] = (this.mints[channel] ?? 0) + 1;
		this.cache.set(channel, minted.token);
		return minted.token;
	}
}

interface Delivery {
	channel: string;
	token: string;
	headers: Record<string, string>;
	payload: Record<string, unknown>;
	outcome: { status: number; ok: boolean; reason?: string; fault?: string };
}

async function simJson<T>(path: string, init?: RequestInit): Promise<T> {
	const res = await fetch(`${sim.url}${path}`, init);
	if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
	return (res.status === 204 ? undefined : await res.json()) as T;
}
const deliveries = (channel: Cn) => simJson<Delivery[]>(`/__sim/deliveries?channel=${channel}`);
const fault = (body: { channel: Cn; kind: string; token?: string; times?: number; retry_after?: number }) =>
	simJson("/__sim/faults", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const stats = () => simJson<Record<Cn, { requests: number; token_refreshes: number }>>("/__sim/stats");

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
function opts(over: Partial<PushOptions> = {}): PushOptions {
	return { messageId: "msg_cn_1", priority: "high", expiresAt: Date.now() + 3600_000, silent: false, ...over };
}
const content: MessageContent = {
	type: "text",
	title: "订单已发货",
	body: "您的订单 #42 已发货 — ünïcödé",
	url: "https://example.com/o/42",
	data: { order: "42" },
};

let seq = 0;
const tok = (prefix: string) => `${prefix}-${++seq}-${"x".repeat(12)}`;
const targetsOf = (ts: string[]): PushTarget[] => ts.map((token, i) => ({ userId: `u${i}`, deviceId: `d${i}`, token }));
const kinds = (outcomes: SendOutcome[]) => outcomes.map((o) => o.kind);

async function send(id: Cn, targets: PushTarget[], o = opts(), c: MessageContent = content) {
	const channel = channels[id] as Channel<unknown>;
	const push = channel.build(c, o, creds[id]);
	const outcomes = await channel.send(push, targets, { credentials: creds[id], endpoints, tokens, fetch });
	expect(outcomes).toHaveLength(targets.length);
	return outcomes;
}

beforeAll(async () => {
	sim = await startSimulator({ port: 0 });
	endpoints = vendorEndpoints({ WARBLER_ENV: "test", ...simulatorEnv(sim.url) } as { WARBLER_ENV: string });
	creds = sim.credentials as unknown as Record<Cn, unknown>;
	tokens = new CountingTokens();
});
afterAll(async () => {
	await sim?.close();
});
beforeEach(async () => {
	await simJson("/__sim/reset", { method: "POST" });
});

describe("signatures (the documented schemes, against node:crypto)", () => {
	it("MD5 matches RFC 1321's test vectors", () => {
		expect(md5Hex("")).toBe("d41d8cd98f00b204e9800998ecf8427e");
		expect(md5Hex("abc")).toBe("900150983cd24fb0d6963f7d28e17f72");
		expect(md5Hex("message digest")).toBe("f96b697d7cb7938d525a2f31aaf161d0");
	});

	it("OPPO: hex sha256(app_key + timestamp + master_secret)", async () => {
		const expected = createHash("sha256")
			.update("appKey1" + "1700000000000" + "master")
			.digest("hex");
		expect(await oppoSign("appKey1", "1700000000000", "master")).toBe(expected);
	});

	it("vivo: lower-case hex md5(appId + appKey + timestamp + appSecret)", () => {
		const expected = createHash("md5")
			.update("10337" + "b46e-key" + "1700000000000" + "9ae2-secret")
			.digest("hex");
		expect(vivoSign("10337", "b46e-key", "1700000000000", "9ae2-secret")).toBe(expected);
	});

	it("Meizu: md5 of the sorted k=v pairs, no separator, then the App Secret", () => {
		const params = { pushIds: "a,b", appId: "110006", messageJson: '{"x":1}' };
		const expected = createHash("md5")
			.update('appId=110006messageJson={"x":1}pushIds=a,b' + "secret")
			.digest("hex");
		expect(meizuSign(params, "secret")).toBe(expected);
	});

	it("OPPO and vivo tokens live 24 hours; a refused signature is permanent", async () => {
		const oppo = await mintOppoToken(creds.oppo as never, endpoints, fetch, Date.now());
		expect(oppo.expiresAt - Date.now()).toBeGreaterThan(OPPO_TOKEN_LIFETIME_MS - 5000);
		expect(OPPO_TOKEN_LIFETIME_MS).toBe(24 * 3600 * 1000);
		const vivo = await mintVivoToken(creds.vivo as never, endpoints, fetch, Date.now());
		expect(vivo.expiresAt - Date.now()).toBeGreaterThan(VIVO_TOKEN_LIFETIME_MS - 5000);
		await expect(
			mintOppoToken({ ...(creds.oppo as { app_key: string }), master_secret: "wrong-secret" }, endpoints, fetch),
		).rejects.toThrow(/oppo auth answered 200 16 \(permanent\)/);
		await expect(
			mintVivoToken({ ...(creds.vivo as { app_id: string; app_key: string }), app_secret: "wrong-secret" }, endpoints, fetch),
		).rejects.toThrow(/permanent/);
	});
});

describe("credential schemas", () => {
	it("accept what each console shows and name the bad field", () => {
		expect(OppoCredentialsSchema.safeParse(creds.oppo).success).toBe(true);
		expect(VivoCredentialsSchema.safeParse(creds.vivo).success).toBe(true);
		expect(HonorCredentialsSchema.safeParse(creds.honor).success).toBe(true);
		expect(MeizuCredentialsSchema.safeParse(creds.meizu).success).toBe(true);
		const bad = VivoCredentialsSchema.safeParse({ ...(creds.vivo as object), app_id: "abc" });
		expect(bad.success).toBe(false);
		expect(bad.error?.issues[0]?.path).toEqual(["app_id"]);
		const missing = MeizuCredentialsSchema.safeParse({ app_id: "1" });
		expect(missing.error?.issues[0]?.path).toEqual(["app_secret"]);
	});
});

describe("classification", () => {
	it("maps Warbler categories to each vendor's field", () => {
		expect(messageClass("transactional")).toBe("transactional");
		expect(messageClass("order")).toBe("transactional");
		expect(messageClass("news")).toBe("marketing");
		expect(messageClass("promo")).toBe("marketing");
		expect(messageClass(undefined, "transactional")).toBe("transactional");
		expect(hmsCategory("im")).toBe("IM");
		expect(hmsCategory("marketing")).toBe("MARKETING");
		expect(hmsCategory("transactional")).toBeUndefined();
		expect(oppoVivoCategory("device_reminder")).toBe("DEVICE_REMINDER");
		expect(oppoVivoCategory("voip")).toBeUndefined();
		expect(channelIdFor({ transactional: "svc", im: "chat" }, "im")).toBe("chat");
		expect(channelIdFor({ transactional: "svc", im: "chat" }, "order")).toBe("svc");
		expect(channelIdFor({ transactional: "svc" }, "marketing")).toBeUndefined();
	});

	it("renders the category into every vendor payload", () => {
		const o = (category?: string) => opts({ now: NOW, expiresAt: NOW + 3600_000, ...(category ? { category } : {}) });
		const oppo = buildOppoPayload(content, o("im"), { channel_ids: { im: "chat", marketing: "promo" } }).body as {
			notification: Record<string, unknown>;
		};
		expect(oppo.notification).toMatchObject({ category: "IM", notify_level: 2, channel_id: "chat" });
		const oppoMkt = buildOppoPayload(content, o(), { channel_ids: { marketing: "promo" } }).body as {
			notification: Record<string, unknown>;
		};
		expect(oppoMkt.notification).toMatchObject({ category: "MARKETING", notify_level: 1, channel_id: "promo" });
		const vivo = buildVivoPayload(content, o("transactional")).body as { message: Record<string, unknown> };
		expect(vivo.message).toMatchObject({ classification: 1, category: "TODO" });
		expect((buildVivoPayload(content, o("news")).body as { message: Record<string, unknown> }).message).toMatchObject({
			classification: 0,
			category: "NEWS",
		});
		expect(buildHonorPayload(content, o("account")).body).toMatchObject({ android: { notification: { importance: "NORMAL" } } });
		expect(buildHonorPayload(content, o("marketing")).body).toMatchObject({ android: { notification: { importance: "LOW" } } });
		expect(buildHmsPayload(content, o("finance")).body).toMatchObject({ message: { android: { category: "FINANCE" } } });
		const mi = buildXiaomiPayload(content, o("marketing"), { package_name: "a.b", channel_ids: { marketing: "pub" } });
		expect(mi.body["extra.channel_id"]).toBe("pub");
	});
});

describe("builders: the documented limits", () => {
	const long = "长".repeat(300);
	const o = opts({ now: NOW, expiresAt: NOW + 30 * 24 * 3600_000 });

	it("OPPO: title ≤ 50, content ≤ 200 characters, off_line_ttl ≤ 10 days, data in action_parameters", () => {
		const n = (
			buildOppoPayload({ type: "text", title: long, body: long, data: { k: "v" } }, o, {}).body as {
				notification: Record<string, unknown>;
			}
		).notification;
		expect(Array.from(n.title as string)).toHaveLength(50);
		expect(Array.from(n.content as string)).toHaveLength(200);
		expect(n.off_line_ttl).toBe(864000);
		expect(JSON.parse(n.action_parameters as string)).toEqual({ k: "v", message_id: "msg_cn_1" });
	});

	it("vivo: title ≤ 40 and content ≤ 100 of vivo's width (CJK counts two), TTL within 900 s – 7 days", () => {
		expect(vivoWidth("ab汉字")).toBe(6);
		expect(vivoWidth(truncateWidth(long, 40))).toBeLessThanOrEqual(40);
		const m = (buildVivoPayload({ type: "text", title: long, body: long }, o).body as { message: Record<string, unknown> })
			.message;
		expect(vivoWidth(m.title as string)).toBeLessThanOrEqual(40);
		expect(vivoWidth(m.content as string)).toBeLessThanOrEqual(100);
		expect(m.timeToLive).toBe(7 * 24 * 3600);
		const short = opts({ now: NOW, expiresAt: NOW + 60_000 });
		expect((buildVivoPayload(content, short).body as { message: Record<string, unknown> }).message.timeToLive).toBe(900);
	});

	it("Meizu: title ≤ 32, content ≤ 100, validTime 1–72 h; silent is a pass-through message", () => {
		const m = (
			buildMeizuPayload({ type: "text", title: long, body: long }, o).body as {
				messageJson: { noticeBarInfo: { title: string; content: string }; pushTimeInfo: { validTime: number } };
			}
		).messageJson;
		expect(Array.from(m.noticeBarInfo.title)).toHaveLength(32);
		expect(Array.from(m.noticeBarInfo.content)).toHaveLength(100);
		expect(m.pushTimeInfo.validTime).toBe(72);
		const silent = buildMeizuPayload(content, opts({ silent: true })).body as { messageJson: Record<string, unknown> };
		expect(silent.messageJson.noticeBarInfo).toBeUndefined();
		expect(JSON.parse(silent.messageJson.content as string)).toMatchObject({ order: "42" });
	});

	it("Honor: data message for silent pushes, notification with clickAction otherwise; content.honor merges last", () => {
		expect(buildHonorPayload(content, opts({ silent: true })).body).not.toHaveProperty("android.notification");
		const b = buildHonorPayload({ ...content, honor: { android: { notification: { badge: { addNum: 1 } } } } }, opts()).body;
		expect(b).toMatchObject({ android: { notification: { clickAction: { type: 3 }, badge: { addNum: 1 } } } });
	});

	it("OPPO picks the overseas host by the registration id's region", () => {
		expect(oppoHost("b6bbd94b59cdb5df8391642c1509b7fe", endpoints)).toBe(endpoints.oppo.send);
		expect(oppoHost("CN_b6bb", endpoints)).toBe(endpoints.oppo.send);
		expect(oppoHost("OPPO_CN_b6bb", endpoints)).toBe(endpoints.oppo.send);
		expect(oppoHost("IN_b6bb", endpoints)).toBe(endpoints.oppo.intl);
		expect(oppoHost("OPPO_SG_b6bb", endpoints)).toBe(endpoints.oppo.intl);
	});
});

describe("senders against the simulator", () => {
	it.each(CN)("%s: a batch with one dead token: the others are sent, the dead one is invalid_token", async (id) => {
		const good = [tok(`${id}a`), tok(`${id}b`)];
		const dead = `invalid-${tok(id)}`;
		const outcomes = await send(id, targetsOf([good[0] as string, dead, good[1] as string]));
		expect(kinds(outcomes)).toEqual(["ok", "invalid_token", "ok"]);
		const got = await deliveries(id);
		expect(
			got
				.filter((d) => d.outcome.ok)
				.map((d) => d.token)
				.sort(),
		).toEqual([...good].sort());
	});

	it.each(CN)("%s: one target, every field the simulator checks is valid", async (id) => {
		const t = tok(id);
		expect(kinds(await send(id, targetsOf([t])))).toEqual(["ok"]);
		const [d] = await deliveries(id);
		expect(d?.outcome.ok).toBe(true);
		expect(d?.token).toBe(t);
	});

	it.each(CN)("%s: 429 with Retry-After is retry(afterSeconds), 500 is retry", async (id) => {
		await fault({ channel: id, kind: "429", retry_after: 17 });
		const [first] = await send(id, targetsOf([tok(id), tok(id)]));
		expect(first).toMatchObject({ kind: "retry", afterSeconds: 17 });
		await fault({ channel: id, kind: "500" });
		expect(kinds(await send(id, targetsOf([tok(id), tok(id)])))).toEqual(["retry", "retry"]);
	});

	it.each([
		["oppo", "33"],
		["vivo", "10070"],
		["meizu", "110019"],
	] as const)("%s: the vendor's documented daily-quota answer (%s) is quota_exceeded", async (id, code) => {
		await fault({ channel: id, kind: "quota" });
		const outcomes = await send(id, targetsOf([tok(id), tok(id)]));
		expect(kinds(outcomes)).toEqual(["quota_exceeded", "quota_exceeded"]);
		expect(outcomes[0]).toMatchObject({ reason: expect.stringContaining(code) });
	});

	it.each([
		["oppo", "55"],
		["meizu", "110010"],
	] as const)("%s: the vendor's rate-limit code (%s) in an HTTP 200 answer is retried", async (id, code) => {
		await fault({ channel: id, kind: "too_many_provider_token_updates" });
		const outcomes = await send(id, targetsOf([tok(id), tok(id)]));
		expect(kinds(outcomes)).toEqual(["retry", "retry"]);
		expect(outcomes[0]).toMatchObject({ reason: expect.stringContaining(`200 ${code}`) });
	});

	it("honor: no documented daily-quota code; its traffic-control answer is retried, never counted as quota", async () => {
		await fault({ channel: "honor", kind: "quota" });
		expect(kinds(await send("honor", targetsOf([tok("h"), tok("h")])))).toEqual(["retry", "retry"]);
	});

	it("meizu: at most 100 pushIds a request (150 targets are two requests), all sent", async () => {
		const before = (await stats()).meizu.requests;
		const outcomes = await send("meizu", targetsOf(Array.from({ length: 150 }, () => tok("m"))));
		expect(new Set(kinds(outcomes))).toEqual(new Set(["ok"]));
		expect((await stats()).meizu.requests - before).toBe(2);
	});

	it("xiaomi: its daily-quota code 200001 is quota_exceeded too", async () => {
		const channel = channels.xiaomi as Channel<unknown>;
		const xiaomi = (sim.credentials as unknown as Record<string, unknown>).xiaomi;
		await simJson("/__sim/faults", {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ channel: "xiaomi", kind: "quota" }),
		});
		const outcomes = await channel.send(channel.build(content, opts(), xiaomi), targetsOf([tok("x")]), {
			credentials: xiaomi,
			endpoints,
			tokens,
			fetch,
		});
		expect(outcomes[0]).toMatchObject({ kind: "quota_exceeded", reason: expect.stringContaining("200001") });
	});

	it.each(["oppo", "vivo", "honor"] as const)(
		"%s: a refused token is refreshed exactly once and the push goes out",
		async (id) => {
			await send(id, targetsOf([tok(id)])); // warm the cache
			const before = (await stats())[id].token_refreshes;
			await fault({ channel: id, kind: "auth" });
			expect(kinds(await send(id, targetsOf([tok(id), tok(id)])))).toEqual(["ok", "ok"]);
			expect((await stats())[id].token_refreshes - before).toBe(1);
		},
	);

	it("meizu: a bad signature (wrong App Secret) is rejected, not retried", async () => {
		const channel = channels.meizu as Channel<unknown>;
		const wrong = { ...(creds.meizu as object), app_secret: "not-the-secret" };
		const outcomes = await channel.send(channel.build(content, opts(), wrong), targetsOf([tok("m")]), {
			credentials: wrong,
			endpoints,
			tokens,
			fetch,
		});
		expect(outcomes[0]).toMatchObject({ kind: "rejected", reason: expect.stringContaining("1006") });
	});

	it.each(CN)("%s: a token fault on the whole request makes every target invalid_token", async (id) => {
		await fault({ channel: id, kind: "unregistered" });
		const ts = id === "vivo" ? [tok(id)] : [tok(id), tok(id)];
		expect(kinds(await send(id, targetsOf(ts)))).toEqual(ts.map(() => "invalid_token"));
	});

	it("oppo and vivo refuse silent pushes (no data-only messages); honor and meizu send them", async () => {
		for (const id of ["oppo", "vivo"] as const) {
			const [o] = await send(id, targetsOf([tok(id)]), opts({ silent: true }));
			expect(o?.kind).toBe("rejected");
		}
		for (const id of ["honor", "meizu"] as const) {
			expect(kinds(await send(id, targetsOf([tok(id)]), opts({ silent: true })))).toEqual(["ok"]);
		}
		expect(await deliveries("oppo")).toHaveLength(0);
	});

	it("oppo: domestic and overseas registration ids go to their own host in one send", async () => {
		const outcomes = await send("oppo", targetsOf(["CN_abc123", "IN_def456"]));
		expect(kinds(outcomes)).toEqual(["ok", "ok"]);
		const got = await deliveries("oppo");
		expect(Object.fromEntries(got.map((d) => [d.token, d.payload.region]))).toEqual({ CN_abc123: "cn", IN_def456: "intl" });
	});

	it("vivo: a batch is two requests (saveListPayload + pushToList) whatever its size; one mint for many sends", async () => {
		const before = await stats();
		const mintsBefore = tokens.mints.vivo ?? 0;
		await send("vivo", targetsOf(Array.from({ length: 50 }, () => tok("v"))));
		await send("vivo", targetsOf(Array.from({ length: 50 }, () => tok("v"))));
		const after = await stats();
		expect(after.vivo.requests - before.vivo.requests).toBe(4);
		expect((tokens.mints.vivo ?? 0) - mintsBefore).toBe(0);
	});

	it("a rendered payload the vendor would refuse is rejected by the simulator's checks", async () => {
		// Bypass the builder's truncation: a 60-character OPPO title.
		const channel = channels.oppo as Channel<unknown>;
		const push = channel.build(content, opts(), creds.oppo);
		(push.body as { notification: Record<string, unknown> }).notification.title = "x".repeat(60);
		const [o] = await channel.send(push, targetsOf([tok("o")]), { credentials: creds.oppo, endpoints, tokens, fetch });
		expect(o).toMatchObject({ kind: "rejected", reason: expect.stringContaining("41") });
	});
});

describe("vendor quota rules (pure)", () => {
	// 2026-12-01 12:00 UTC = 20:00 in Asia/Shanghai.
	const at = (isoUtc: string) => new Date(isoUtc);
	const rule = { allowed_hours: { start: "07:00", end: "23:00" } };

	it("inside the allowed hours a marketing push goes", () => {
		expect(windowDecision(at("2026-12-01T12:00:00Z"), rule, Date.parse("2026-12-02T00:00:00Z"))).toEqual({ action: "send" });
	});

	it("outside them it is held until they open (07:00 Beijing = 23:00 UTC), or counted when asked", () => {
		const night = at("2026-12-01T16:30:00Z"); // 00:30 in Shanghai
		expect(windowDecision(night, rule, Date.parse("2026-12-03T00:00:00Z"))).toEqual({
			action: "hold",
			until: at("2026-12-01T23:00:00Z"),
		});
		expect(windowDecision(night, { ...rule, outside_hours: "count" }, Date.parse("2026-12-03T00:00:00Z"))).toEqual({
			action: "count",
		});
		// It would expire before the hours open: counted, not held.
		expect(windowDecision(night, rule, Date.parse("2026-12-01T20:00:00Z"))).toEqual({ action: "count" });
	});

	it("a window may wrap midnight, and takes its own zone", () => {
		const wrap = { allowed_hours: { start: "22:00", end: "02:00" }, time_zone: "UTC" };
		expect(windowDecision(at("2026-12-01T23:30:00Z"), wrap, Infinity).action).toBe("send");
		expect(windowDecision(at("2026-12-01T03:00:00Z"), wrap, Infinity)).toEqual({
			action: "hold",
			until: at("2026-12-01T22:00:00Z"),
		});
	});

	it("the quota day is the calendar day in the rule's zone (Beijing by default)", () => {
		expect(quotaDay(at("2026-12-01T16:30:00Z"), {})).toBe("2026-12-02");
		expect(quotaDay(at("2026-12-01T16:30:00Z"), { time_zone: "UTC" })).toBe("2026-12-01");
	});
});
