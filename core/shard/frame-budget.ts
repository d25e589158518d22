import { FRAME_BURST, FRAME_RATE_PER_SECOND } from "../../protocol/limits.js";

/**
 * Per-connection frame budgets (protocol/limits.ts): a token bucket per socket, in memory only. A
 * socket woken from hibernation starts with a full bucket, which errs on the side of the client;
 * nothing is stored, so a frame costs a map lookup and no write.
 */
export class FrameBudget {
	private readonly buckets = new WeakMap<WebSocket, { tokens: number; at: number }>();

	/** Takes one frame's token; false when the socket is over its budget. */
	take(ws: WebSocket, now: number): boolean {
		const b = this.buckets.get(ws) ?? { tokens: FRAME_BURST, at: now };
		b.tokens = Math.min(FRAME_BURST, b.tokens + ((now - b.at) / 1000) * FRAME_RATE_PER_SECOND);
		b.at = now;
		this.buckets.set(ws, b);
		if (b.tokens < 1) return false;
		b.tokens -= 1;
		return true;
	}
}
