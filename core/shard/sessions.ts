import type { ServerFrame } from "../../protocol/frames.js";
import type { SocketState } from "../inbox/types.js";

/**
 * The shard's WebSockets: many users' devices in one object, each socket tagged with its user so
 * the runtime finds a user's sockets without waking anything, and its state kept in the
 * hibernation attachment (it survives the object being evicted).
 */
const OPEN = 1;

export const userTag = (userId: string) => `u:${userId}`;

export function stateOf(ws: WebSocket): SocketState | null {
	return ws.deserializeAttachment() as SocketState | null;
}

export function saveState(ws: WebSocket, state: SocketState): void {
	ws.serializeAttachment(state);
}

export class Sessions {
	constructor(private readonly ctx: DurableObjectState) {}

	/** The open sockets of a user (ready or not). */
	of(userId: string): WebSocket[] {
		return this.ctx.getWebSockets(userTag(userId)).filter((ws) => ws.readyState === OPEN);
	}

	all(): WebSocket[] {
		return this.ctx.getWebSockets();
	}

	accept(ws: WebSocket, state: SocketState): void {
		this.ctx.acceptWebSocket(ws, [userTag(state.userId)]);
		saveState(ws, state);
	}

	/**
	 * Sends one frame (already JSON) to every ready socket of a user; how many got it. Sockets still
	 * catching up on a backlog get message frames from their replay, in order, not here.
	 */
	sendToUser(userId: string, frameJson: string, toCatchingUp = false): number {
		let sent = 0;
		for (const ws of this.of(userId)) {
			const state = stateOf(ws);
			if (!state?.ready || (state.replayedTo !== undefined && !toCatchingUp)) continue;
			if (sendRaw(ws, frameJson)) sent++;
		}
		return sent;
	}

	presence(userId: string): number {
		return this.of(userId).length;
	}
}

export function sendRaw(ws: WebSocket, frameJson: string): boolean {
	try {
		ws.send(frameJson);
		return true;
	} catch {
		// The socket closed under us; its device resumes from its last seq.
		return false;
	}
}

export function send(ws: WebSocket, frame: ServerFrame): void {
	sendRaw(ws, JSON.stringify(frame));
}

export function safeClose(ws: WebSocket, code: number, reason: string): void {
	try {
		ws.close(code, reason);
	} catch {
		// Already closed.
	}
}
