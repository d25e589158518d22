/**
 * WebSocket frames of `GET /v1/connect`, shared by the inbox Durable Object and the client SDK.
 * One JSON object per text frame, told apart by `type`.
 */
import type { MessageContent } from "./message.js";

export type ClientFrame =
	| { type: "hello"; last_seq: number }
	| { type: "ack"; seq: number }
	| { type: "event"; id: string; name: "opened" | "clicked" }
	| { type: "ping" };

export interface MessageFrame {
	type: "message";
	seq: number;
	id: string;
	content: MessageContent;
	sent_at: string;
}

export type ServerFrame =
	| { type: "welcome"; user_id: string; device_id: string; seq: number }
	| MessageFrame
	| { type: "recall"; id: string }
	| { type: "gap"; from: number; to: number }
	| { type: "pong" }
	| { type: "error"; code: FrameErrorCode; message: string };

/**
 * Codes of `error` frames. The socket stays open after each of them, except `rate_limited`: frames
 * faster than the per-connection budget (protocol/limits.ts) get it, then close 4004.
 */
export type FrameErrorCode = "invalid_frame" | "hello_required" | "unknown_message" | "rate_limited";

/**
 * Close codes (docs/api.md: Close codes). 4000–4499: transient, the client reconnects (with backoff,
 * and a fresh token where the code says so). 4500–4999: final, the client stops until the app
 * intervenes. Every code but GOING_AWAY is sent by the inbox Durable Object.
 */
export const CloseCode = {
	/** Sent by the client SDK, never by the server: it gave up on a silent connection and reconnects. */
	GOING_AWAY: 4000,
	/** The client token expired while connected; fetch a new one and reconnect. */
	TOKEN_EXPIRED: 4001,
	/** Too many invalid frames in a row; reconnect after backoff. */
	PROTOCOL_ERROR: 4002,
	/** The app grew its shards and this user's inbox moved; reconnect now (nothing is lost). */
	MOVED: 4003,
	/** The client sent frames faster than its budget (protocol/limits.ts); reconnect after backoff. */
	RATE_LIMITED: 4004,
	/** Another connection of the same device replaced this one. */
	REPLACED: 4501,
	/** The user was deleted. */
	USER_DELETED: 4502,
} as const;

/**
 * Carrying the client token out of the URL (URLs land in access logs): the client offers these two
 * WebSocket subprotocols, `warbler.v1` and `warbler.token.<token>`, and the server answers with
 * `warbler.v1`. A JWT is made of characters a subprotocol name may hold.
 */
export const SUBPROTOCOL = "warbler.v1";
export const TOKEN_SUBPROTOCOL_PREFIX = "warbler.token.";

export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';
