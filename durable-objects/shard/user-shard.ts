import { DurableObject } from "cloudflare:workers";
import { parseClientFrame } from "../../core/inbox/frames.js";
import type { InboxRecipientView, SocketState } from "../../core/inbox/types.js";
import type { ShardActivityMonth } from "../../core/shard/activity.js";
import type { ShardAddress, ShardCounts, ShardDelivery, ShardResult } from "../../core/shard/api.js";
import { FrameBudget } from "../../core/shard/frame-budget.js";
import type { ShardRange, ShardSnapshot } from "../../core/shard/growth.js";
import { Sessions, safeClose, saveState, send, stateOf } from "../../core/shard/sessions.js";
import { Shard } from "../../core/shard/shard.js";
import type { HourStats } from "../../core/shard/stats.js";
import { CloseCode, PING_FRAME, PONG_FRAME } from "../../protocol/frames.js";

const MAX_BAD_FRAMES = 10;

/**
 * A shard of an app's users: their inboxes and WebSocket sessions (core/shard/). This class only
 * turns RPC calls, sockets and the alarm into calls on the shard.
 */
export class UserShard extends DurableObject<Env> {
	/** Public for tests that inspect or steer a shard through runInDurableObject. */
	readonly shard: Shard;
	private readonly frames = new FrameBudget();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.shard = new Shard(ctx, env, new Sessions(ctx));
		// Keep-alive pings are answered by the runtime without waking a hibernated object.
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
	}

	deliver(d: ShardDelivery): Promise<ShardResult[]> {
		return this.shard.deliver(d);
	}

	recall(at: ShardAddress, messageId: string): Promise<boolean> {
		return this.shard.recall(at, messageId);
	}

	recipient(at: ShardAddress, messageId: string, userId: string): Promise<InboxRecipientView | null> {
		return this.shard.recipient(at, messageId, userId);
	}

	recipientsOf(at: ShardAddress, messageId: string, userIds: string[]): Promise<InboxRecipientView[]> {
		return this.shard.recipientsOf(at, messageId, userIds);
	}

	recipientsPage(
		at: ShardAddress,
		messageId: string,
		after: number,
		limit: number,
	): Promise<{ views: InboxRecipientView[]; last: number | null }> {
		return this.shard.recipientsPage(at, messageId, after, limit);
	}

	counts(at: ShardAddress, messageId: string): Promise<ShardCounts> {
		return this.shard.countsAt(at, messageId);
	}

	stats(at: ShardAddress, userId: string): Promise<{ seq: number; held: number }> {
		return this.shard.stats(at, userId);
	}

	presence(at: ShardAddress, userId: string): Promise<number> {
		return this.shard.presence(at, userId);
	}

	statsAt(at: ShardAddress, from: number, to: number): Promise<HourStats[]> {
		return this.shard.statsAt(at, from, to);
	}

	onlineAt(at: ShardAddress): Promise<{ users: number; devices: number }> {
		return this.shard.onlineAt(at);
	}

	erase(at: ShardAddress, userId: string): Promise<void> {
		return this.shard.erase(at, userId);
	}

	forgetDevice(at: ShardAddress, userId: string, deviceId: string): Promise<void> {
		return this.shard.forgetDevice(at, userId, deviceId);
	}

	/** Growth: a child shard takes the users of its range (core/shard/growth.ts). */
	exportTo(at: ShardAddress, range: ShardRange): Promise<ShardSnapshot> {
		return this.shard.exportTo(at, range);
	}

	/** Refuses the user's client tokens minted before `before` (epoch ms) and closes their sockets. */
	revokeTokens(at: ShardAddress, userId: string, before: number): Promise<void> {
		return this.shard.revokeTokens(at, userId, before);
	}

	exported(at: ShardAddress, child: number): Promise<void> {
		return this.shard.exported(at, child);
	}

	/** Growth: makes a new shard take its users now rather than at its first call; its user count. */
	settle(at: ShardAddress): Promise<number> {
		return this.shard.settle(at);
	}

	/** Users who said hello in a month and each day's peak of ready sockets (usage). */
	activityAt(at: ShardAddress, month: string): Promise<ShardActivityMonth> {
		return this.shard.activityAt(at, month);
	}

	/** Rows this shard has written since it started (row budgets in tests). */
	rowCounters(): Shard["store"]["counters"] {
		return { ...this.shard.store.counters };
	}

	override async fetch(request: Request): Promise<Response> {
		const state: SocketState = {
			appId: request.headers.get("x-warbler-app") ?? "",
			userId: request.headers.get("x-warbler-user") ?? "",
			deviceId: request.headers.get("x-warbler-device") ?? "",
			tokenExp: Number(request.headers.get("x-warbler-token-exp") ?? "0"),
			tokenMintedAt: Number(request.headers.get("x-warbler-token-minted") ?? "0"),
			ready: false,
			badFrames: 0,
		};
		const shard = request.headers.get("x-warbler-shard") ?? "";
		if (request.headers.get("upgrade") !== "websocket" || !state.appId || !state.userId || !state.deviceId || !shard) {
			return new Response("expected a websocket upgrade from the API worker", { status: 400 });
		}
		// A caller that still counts the shards from before a growth: the user's inbox is in a child now.
		const child = await this.shard.childHolding({ appId: state.appId, shard }, state.userId);
		if (child) {
			const headers = new Headers(request.headers);
			headers.set("x-warbler-shard", child.at.shard);
			return child.stub.fetch(new Request(request.url, { headers }));
		}
		const limit = (name: string) => {
			const n = Number(request.headers.get(name) ?? "");
			return Number.isInteger(n) && n > 0 ? n : undefined;
		};
		return this.shard.connect(state, shard, {
			devices: limit("x-warbler-max-devices"),
			connections: limit("x-warbler-max-connections"),
		});
	}

	override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
		const state = stateOf(ws);
		if (!state) return;
		if (!this.frames.take(ws, Date.now())) {
			send(ws, { type: "error", code: "rate_limited", message: "Too many frames; reconnect after a pause." });
			safeClose(ws, CloseCode.RATE_LIMITED, "too many frames");
			return;
		}
		if (state.tokenExp * 1000 <= Date.now()) {
			safeClose(ws, CloseCode.TOKEN_EXPIRED, "token expired");
			return;
		}
		const parsed = parseClientFrame(raw);
		if (!parsed.ok) {
			state.badFrames++;
			saveState(ws, state);
			send(ws, { type: "error", code: "invalid_frame", message: parsed.error });
			if (state.badFrames >= MAX_BAD_FRAMES) safeClose(ws, CloseCode.PROTOCOL_ERROR, "too many invalid frames");
			return;
		}
		if (state.badFrames) {
			state.badFrames = 0;
			saveState(ws, state);
		}
		await this.shard.frame(ws, state, parsed.frame);
	}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		this.shard.closed(stateOf(ws));
		// Reciprocate so the client sees a clean close (1005/1006 cannot be sent back).
		safeClose(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
	}

	override async webSocketError(ws: WebSocket): Promise<void> {
		safeClose(ws, 1011, "socket error");
	}

	override async alarm(): Promise<void> {
		await this.shard.alarm();
	}
}
