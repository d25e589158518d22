import type { PushTarget, VendorChannelId } from "../channels/types.js";

/** One push through one vendor to up to that channel's batch size of devices of one app. */
export interface VendorJob {
	kind: "vendor";
	appId: string;
	messageId: string;
	channel: VendorChannelId;
	targets: PushTarget[];
	/** Sends already tried for these targets (partial retries re-enqueue with attempt + 1). */
	attempt: number;
}

/** A user online over WebSocket did not ack in the app's window: push to their vendor devices. */
export interface FallbackJob {
	kind: "fallback";
	appId: string;
	messageId: string;
	userId: string;
}

export type DispatchJob = VendorJob | FallbackJob;

/** Sends before a target counts as failed (the queue's own retries cover whole-job failures). */
export const MAX_VENDOR_ATTEMPTS = 5;
