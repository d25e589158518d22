/**
 * Local vendor simulator: one HTTP/1.1 port that plays APNs, FCM, Huawei Push Kit, Xiaomi, OPPO, vivo,
 * Honor, Meizu and Web Push (service and browser), verifies their auth, records what it received and injects faults on request.
 * See sim/README.md for the endpoints.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createApns } from "./apns.ts";
import type { SimContext, SimOptions } from "./context.ts";
import { generateCredentials, type SimCredentials } from "./credentials.ts";
import { createFcm } from "./fcm.ts";
import { createHms } from "./hms.ts";
import { createHonor } from "./honor.ts";
import { isObject, json, parseJson, readBody, type SimRequest, type SimResponse } from "./http.ts";
import { createMeizu } from "./meizu.ts";
import { createOppo } from "./oppo.ts";
import { CHANNELS, FAULT_KINDS, type FaultKind, type SimChannel, SimState } from "./state.ts";
import { createVivo } from "./vivo.ts";
import { createWebPush } from "./webpush.ts";
import { createXiaomi } from "./xiaomi.ts";

export type { SimCredentials } from "./credentials.ts";
export type { ChannelStats, Delivery, Fault, FaultKind, Outcome, SimChannel } from "./state.ts";

export interface StartOptions extends Partial<SimOptions> {
	/** 0 or absent: any free port. */
	port?: number;
	/** Interface to listen on and to advertise in URLs (default 127.0.0.1). */
	host?: string;
	/** Bundle id / package name of the demo app (default dev.warbler.demo). */
	bundleId?: string;
}

export interface RunningSimulator {
	/** e.g. http://127.0.0.1:9090 */
	url: string;
	port: number;
	/** The generated credentials, as served at GET /__sim/credentials. */
	credentials: SimCredentials;
	close(): Promise<void>;
}

/**
 * The Warbler deployment variables that point each vendor at a simulator running at `url` (the
 * defaults are the real services): base URLs, Warbler appends each vendor's documented path.
 */
export function simulatorEnv(url: string): Record<string, string> {
	return {
		APNS_ENDPOINT: url,
		FCM_ENDPOINT: url,
		FCM_TOKEN_URL: `${url}/fcm/token`,
		HMS_ENDPOINT: `${url}/hms`,
		HMS_TOKEN_URL: `${url}/hms/oauth2/v3/token`,
		XIAOMI_ENDPOINT: `${url}/xiaomi`,
		OPPO_ENDPOINT: `${url}/oppo`,
		OPPO_INTL_ENDPOINT: `${url}/oppo-intl`,
		VIVO_ENDPOINT: `${url}/vivo`,
		HONOR_ENDPOINT: `${url}/honor`,
		HONOR_TOKEN_URL: `${url}/honor/auth/realms/developer/protocol/openid-connect/token`,
		MEIZU_ENDPOINT: `${url}/meizu`,
	};
}

type Handler = (req: SimRequest, params: string[]) => Promise<SimResponse> | SimResponse;
interface Route {
	method?: string;
	pattern: RegExp;
	handler: Handler;
}

export async function startSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
	const host = options.host ?? "127.0.0.1";
	let routes: Route[] = [];
	const pause = new PauseGate();
	const server: Server = createServer((req, res) => {
		void dispatch(routes, req, res, pause);
	});
	server.keepAliveTimeout = 30_000;
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(options.port ?? 0, host, () => {
			server.off("error", reject);
			resolve();
		});
	});
	const port = (server.address() as AddressInfo).port;
	const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
	const ctx: SimContext = {
		state: new SimState(),
		keys: generateCredentials(url, options.bundleId),
		baseUrl: url,
		options: { apnsTokenRefresh: options.apnsTokenRefresh ?? "enforce", slowDefaultMs: options.slowDefaultMs ?? 2000 },
	};
	routes = buildRoutes(ctx, pause);
	return {
		url,
		port,
		credentials: ctx.keys.credentials,
		close: () =>
			new Promise<void>((resolve, reject) => {
				server.close((err) => (err ? reject(err) : resolve()));
				server.closeAllConnections();
			}),
	};
}

function buildRoutes(ctx: SimContext, pause: PauseGate): Route[] {
	const apns = createApns(ctx);
	const fcm = createFcm(ctx);
	const hms = createHms(ctx);
	const xiaomi = createXiaomi(ctx);
	const webpush = createWebPush(ctx);
	const oppo = createOppo(ctx);
	const vivo = createVivo(ctx);
	const honor = createHonor(ctx);
	const meizu = createMeizu(ctx);
	const seg = "([^/]*)";
	return [
		// Vendors (method checks are the vendor's own, so they answer in the vendor's error shape).
		{ pattern: new RegExp(`^/3/device/${seg}$`), handler: (req, [token]) => apns(req, decodeURIComponent(token ?? "")) },
		{ pattern: /^\/fcm\/token$/, handler: (req) => fcm.token(req) },
		{ pattern: /^\/v1\/projects\/([^/]+)\/messages:send$/, handler: (req, [project]) => fcm.send(req, project ?? "") },
		{ pattern: /^\/hms\/oauth2\/v3\/token$/, handler: (req) => hms.token(req) },
		{ pattern: /^\/hms\/v1\/([^/]+)\/messages:send$/, handler: (req, [appId]) => hms.send(req, appId ?? "") },
		{ pattern: /^\/xiaomi\/v3\/message\/regid$/, handler: (req) => xiaomi(req) },
		{ method: "POST", pattern: /^\/oppo(-intl)?\/server\/v1\/auth$/, handler: (req) => oppo.auth(req) },
		{
			method: "POST",
			pattern: /^\/oppo(-intl)?\/server\/v1\/message\/notification\/unicast_batch$/,
			handler: (req, [intl]) => oppo.unicastBatch(req, intl ? "intl" : "cn"),
		},
		{ method: "POST", pattern: /^\/vivo\/message\/auth$/, handler: (req) => vivo.auth(req) },
		{ method: "POST", pattern: /^\/vivo\/message\/send$/, handler: (req) => vivo.send(req) },
		{ method: "POST", pattern: /^\/vivo\/message\/saveListPayload$/, handler: (req) => vivo.saveListPayload(req) },
		{ method: "POST", pattern: /^\/vivo\/message\/pushToList$/, handler: (req) => vivo.pushToList(req) },
		{
			method: "POST",
			pattern: /^\/honor\/auth\/realms\/developer\/protocol\/openid-connect\/token$/,
			handler: (req) => honor.token(req),
		},
		{
			method: "POST",
			pattern: /^\/honor\/api\/v1\/([^/]+)\/sendMessage$/,
			handler: (req, [appId]) => honor.send(req, appId ?? ""),
		},
		{
			method: "POST",
			pattern: /^\/meizu\/garcia\/api\/server\/push\/(varnished|unvarnished)\/pushByPushId$/,
			handler: (req, [kind]) => meizu(req, kind === "unvarnished" ? "unvarnished" : "varnished"),
		},
		{ pattern: /^\/webpush\/([^/]+)$/, handler: (req, [id]) => webpush.push(req, id ?? "") },
		// Control.
		{ method: "GET", pattern: /^\/__sim\/credentials$/, handler: () => json(200, ctx.keys.credentials) },
		{ method: "POST", pattern: /^\/__sim\/webpush\/subscriptions$/, handler: () => webpush.subscribe() },
		{
			method: "DELETE",
			pattern: /^\/__sim\/webpush\/subscriptions\/([^/]+)$/,
			handler: (_req, [id]) => webpush.unsubscribe(id ?? ""),
		},
		{ method: "GET", pattern: /^\/__sim\/deliveries$/, handler: (req) => listDeliveries(ctx, req) },
		{
			method: "DELETE",
			pattern: /^\/__sim\/deliveries$/,
			handler: () => {
				ctx.state.clearDeliveries();
				return { status: 204 };
			},
		},
		{ method: "GET", pattern: /^\/__sim\/stats$/, handler: () => json(200, ctx.state.stats) },
		{
			method: "DELETE",
			pattern: /^\/__sim\/stats$/,
			handler: () => {
				ctx.state.resetStats();
				return { status: 204 };
			},
		},
		// The receipt URL a vendor console holds (HMS AppGallery Connect): {url}, or {url: null} to clear.
		{ method: "PUT", pattern: /^\/__sim\/receipts\/(hms)$/, handler: (req, [channel]) => setReceiptUrl(ctx, req, channel ?? "") },
		// Holds every vendor request (token endpoints too) until resumed: a backlog builds up in the
		// caller's queue, so a benchmark can time how fast it drains.
		{
			method: "POST",
			pattern: /^\/__sim\/pause$/,
			handler: () => {
				pause.pause();
				return { status: 204 };
			},
		},
		{
			method: "POST",
			pattern: /^\/__sim\/resume$/,
			handler: () => {
				pause.resume();
				return { status: 204 };
			},
		},
		{ method: "GET", pattern: /^\/__sim\/faults$/, handler: () => json(200, ctx.state.faults) },
		{ method: "POST", pattern: /^\/__sim\/faults$/, handler: (req) => addFault(ctx, req) },
		{
			method: "DELETE",
			pattern: /^\/__sim\/faults$/,
			handler: () => {
				ctx.state.faults = [];
				return { status: 204 };
			},
		},
		{
			method: "POST",
			pattern: /^\/__sim\/reset$/,
			handler: () => {
				ctx.state.clearDeliveries();
				ctx.state.resetStats();
				ctx.state.faults = [];
				ctx.state.receiptUrls = {};
				pause.resume();
				return { status: 204 };
			},
		},
		{
			method: "GET",
			pattern: /^\/(__sim)?$/,
			handler: () =>
				json(200, {
					simulator: "warbler vendor simulator",
					url: ctx.baseUrl,
					channels: CHANNELS,
					docs: "sim/README.md",
				}),
		},
	];
}

function setReceiptUrl(ctx: SimContext, req: SimRequest, channel: string): SimResponse {
	let body: unknown;
	try {
		body = JSON.parse(req.body.toString("utf8"));
	} catch {
		return json(400, { error: "body must be JSON {url}" });
	}
	const url = isObject(body) ? body.url : undefined;
	if (url !== null && (typeof url !== "string" || !/^https?:\/\//.test(url)))
		return json(400, { error: "url must be an http(s) URL or null" });
	if (url === null) delete ctx.state.receiptUrls.hms;
	else if (channel === "hms") ctx.state.receiptUrls.hms = url;
	return { status: 204 };
}

/** `GET /__sim/deliveries?channel=&token=&wait_ms=&count=`: long-polls up to wait_ms for count matches. */
async function listDeliveries(ctx: SimContext, req: SimRequest): Promise<SimResponse> {
	const channel = req.query.get("channel");
	const token = req.query.get("token");
	const waitMs = Math.min(Number(req.query.get("wait_ms") ?? 0) || 0, 60_000);
	const count = Math.max(Number(req.query.get("count") ?? 1) || 1, 1);
	const found = waitMs > 0 ? await ctx.state.waitFor(channel, token, count, waitMs) : ctx.state.query(channel, token);
	return json(200, found);
}

function addFault(ctx: SimContext, req: SimRequest): SimResponse {
	const parsed = parseJson(req.body);
	const body = parsed.ok ? parsed.value : undefined;
	const bad = (message: string) => json(400, { error: message });
	if (!isObject(body)) return bad("body must be a JSON object");
	const { channel, token, kind, times, retry_after, delay_ms } = body;
	if (!CHANNELS.includes(channel as SimChannel)) return bad(`channel must be one of ${CHANNELS.join(", ")}`);
	if (!FAULT_KINDS.includes(kind as FaultKind)) return bad(`kind must be one of ${FAULT_KINDS.join(", ")}`);
	if (token !== undefined && typeof token !== "string") return bad("token must be a string");
	if (times !== undefined && (typeof times !== "number" || !Number.isInteger(times) || (times < 1 && times !== -1))) {
		return bad("times must be a positive integer or -1 (always)");
	}
	if (retry_after !== undefined && (typeof retry_after !== "number" || retry_after < 0))
		return bad("retry_after must be seconds >= 0");
	if (delay_ms !== undefined && (typeof delay_ms !== "number" || delay_ms < 0)) return bad("delay_ms must be >= 0");
	const fault = ctx.state.addFault({
		channel: channel as SimChannel,
		kind: kind as FaultKind,
		...(token !== undefined ? { token } : {}),
		...(times !== undefined ? { times } : {}),
		...(retry_after !== undefined ? { retry_after } : {}),
		...(delay_ms !== undefined ? { delay_ms } : {}),
	});
	return json(201, fault);
}

/** While paused, vendor requests wait for the resume. */
class PauseGate {
	private open: Promise<void> = Promise.resolve();
	private release: (() => void) | undefined;

	pause(): void {
		if (this.release) return;
		this.open = new Promise<void>((r) => {
			this.release = r;
		});
	}

	resume(): void {
		this.release?.();
		this.release = undefined;
		this.open = Promise.resolve();
	}

	passed(): Promise<void> {
		return this.open;
	}
}

async function dispatch(routes: Route[], req: IncomingMessage, res: ServerResponse, gate: PauseGate): Promise<void> {
	try {
		const url = new URL(req.url ?? "/", "http://sim.invalid");
		const { body, truncated } = await readBody(req);
		const simReq: SimRequest = {
			method: req.method ?? "GET",
			path: url.pathname,
			query: url.searchParams,
			headers: req.headers,
			body,
			truncated,
		};
		let response: SimResponse = json(404, { error: "not found", path: url.pathname });
		for (const route of routes) {
			const match = route.pattern.exec(url.pathname);
			if (!match) continue;
			if (route.method && route.method !== simReq.method) {
				response = json(405, { error: "method not allowed" });
				continue;
			}
			if (!url.pathname.startsWith("/__sim/")) await gate.passed();
			response = await route.handler(simReq, match.slice(1));
			break;
		}
		// APNs answers unknown paths with its own reason.
		if (response.status === 404 && url.pathname.startsWith("/3/")) response = json(404, { reason: "BadPath" });
		write(res, response);
	} catch (err) {
		write(res, json(500, { error: "simulator error", message: (err as Error).message }));
	}
}

function write(res: ServerResponse, response: SimResponse): void {
	const headers: Record<string, string> = { ...response.headers };
	let payload: string | undefined;
	if (response.json !== undefined) {
		payload = JSON.stringify(response.json);
		headers["content-type"] = "application/json; charset=utf-8";
	} else if (response.text !== undefined) {
		payload = response.text;
		headers["content-type"] ??= "text/plain; charset=utf-8";
	}
	if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
	res.writeHead(response.status, headers);
	res.end(payload);
}
