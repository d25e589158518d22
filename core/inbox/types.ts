import type { RecipientView } from "../../protocol/message.js";

/** What a shard stores and decides per recipient, and its sockets' state. */

/** held: waiting in the inbox for quiet hours to end or the user's best hour (no frame, no vendor push yet). */
export type DeliveryOutcome = "delivered" | "queued" | "expired" | "recalled" | "held" | "capped" | "dropped";

/** The app's delivery rules, applied by the inbox at delivery time. */
export interface DeliveryPolicy {
	category?: string;
	respectQuietHours: boolean;
	caps: { max: number; per: "day" | "week"; category?: string }[];
	quietHours?: { start: string; end: string; action: "hold" | "drop" };
	/** The user's zone, or the app default. */
	timeZone: string;
	/** Hold until the user's best hour (hour-of-week histogram of opens and clicks) within the window. */
	optimal?: { withinHours: number; fallbackLocalTime: string };
	/** The message's channels: a held message's vendor push is the inbox's job when it is released. */
	channels: "auto" | "ws" | "vendor" | "all";
}

/** What the recipient's own inbox knows of one message: the API view without vendor devices (the ledger has those). */
export type InboxRecipientView = Omit<RecipientView, "devices">;

/** Per-socket state, kept in the hibernation attachment. */
export interface SocketState {
	appId: string;
	userId: string;
	deviceId: string;
	/** Token expiry, epoch seconds: the socket is closed (4001) when it passes. */
	tokenExp: number;
	/** When the token was minted, epoch ms: a revocation after it closes the socket (4001). */
	tokenMintedAt: number;
	/** Set by hello: only ready sockets get message frames. */
	ready: boolean;
	/**
	 * Set while the device catches up on a backlog larger than one replay window: every message up to
	 * this seq was sent; the next window goes out as it acks. Live frames wait for the replay.
	 */
	replayedTo?: number;
	badFrames: number;
}
