/**
 * The part of the WebSocket API the client uses. The browser's, Node ≥ 22's, Workers', React
 * Native's and the `ws` package's WebSocket all satisfy it.
 */
export interface WebSocketLike {
	readonly readyState: number;
	send(data: string): void;
	close(code?: number, reason?: string): void;
	// `never` parameters let every implementation's own event types fit.
	onopen: ((event: never) => unknown) | null;
	onmessage: ((event: never) => unknown) | null;
	onclose: ((event: never) => unknown) | null;
	onerror: ((event: never) => unknown) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The shape of the events the client reads. */
export interface SocketMessageEvent {
	data: unknown;
}
export interface SocketCloseEvent {
	code?: number;
	reason?: string;
}

export const OPEN = 1;

export function defaultWebSocket(): WebSocketConstructor {
	const ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
	if (!ctor) throw new Error("warbler: no global WebSocket here; pass one with the `WebSocket` option");
	return ctor;
}

/**
 * `${url}/v1/connect?device=…`, with `&token=…` only when `token` is given (the client otherwise
 * sends it as a WebSocket subprotocol, out of URLs and access logs); http(s) become ws(s).
 */
export function connectUrl(base: string, token: string | undefined, deviceId: string, platform?: string): string {
	const root = base.replace(/^http(s?):/i, "ws$1:").replace(/\/+$/, "");
	// Built by hand: older React Native URLSearchParams implementations are incomplete.
	let url = `${root}/v1/connect?device=${encodeURIComponent(deviceId)}`;
	if (token !== undefined) url += `&token=${encodeURIComponent(token)}`;
	if (platform) url += `&platform=${encodeURIComponent(platform)}`;
	return url;
}

/** Closes a socket and detaches its handlers; errors from a socket that is already going are expected. */
export function discard(ws: WebSocketLike, code: number, reason: string): void {
	ws.onopen = null;
	ws.onmessage = null;
	ws.onclose = null;
	// Keep an error handler: the `ws` package throws an 'error' event that has no listener.
	ws.onerror = () => {};
	try {
		ws.close(code, reason);
	} catch {
		// Closing a socket that is still connecting or already closed may throw; it is gone either way.
	}
}
