/** What went wrong, for `error` events. */
export type ClientErrorKind =
	/** The message handler (or a `message` listener) threw or rejected; the message was not acked. */
	| "handler"
	/** `getToken()` threw, rejected or returned no token; the client retries with backoff. */
	| "token"
	/** The WebSocket could not be created or failed. */
	| "socket"
	/** The server sent an `error` frame (the socket stays open). */
	| "server"
	/** A frame that is not JSON. */
	| "protocol"
	/** The storage failed to load or save; the client keeps going with what it has in memory. */
	| "storage"
	/** `connect()` was waiting when the client stopped. */
	| "stopped";

export class WarblerClientError extends Error {
	override readonly name = "WarblerClientError";
	readonly kind: ClientErrorKind;
	/** The server's error code (`kind: "server"`) or the close code (`kind: "stopped"`). */
	readonly code?: string | number;
	/** The message concerned, for `kind: "handler"`. */
	readonly messageId?: string;
	readonly seq?: number;
	/** For `kind: "handler"`: how many times the handler has failed on this message in this process. */
	readonly attempt?: number;
	/**
	 * For `kind: "handler"`: true when the client gave up on the message (after `handlerAttempts`
	 * failures) and acked it anyway, so one bad message cannot hold every later ack back.
	 */
	readonly final?: boolean;

	constructor(
		kind: ClientErrorKind,
		message: string,
		extra: { cause?: unknown; code?: string | number; messageId?: string; seq?: number; attempt?: number; final?: boolean } = {},
	) {
		super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
		this.kind = kind;
		this.code = extra.code;
		this.messageId = extra.messageId;
		this.seq = extra.seq;
		this.attempt = extra.attempt;
		this.final = extra.final;
	}
}

export function describe(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
