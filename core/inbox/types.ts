import type { MessageContent, RecipientStatus, RecipientView } from "../../protocol/message.js";
import { jsonCodec } from "../util/json-codec.js";

/** What the fan-out hands an inbox: everything needed to store and send, nothing to look up. */
export interface InboxDelivery {
	appId: string;
	userId: string;
	messageId: string;
	content: MessageContent;
	sentAt: string;
	/** Epoch ms. */
	expiresAt: number;
	collapseKey?: string;
	/** Per-app inbox cap; the oldest message is dropped past it. */
	cap: number;
	/** Send frames to connected devices now (false for channels=vendor: kept for the next connect). */
	live: boolean;
	/**
	 * channels=auto: if a connected device got it but none acks within this many ms, push to the
	 * user's vendor devices.
	 */
	fallbackAfterMs?: number;
	policy?: DeliveryPolicy;
	/**
	 * Report this recipient's later state changes (acks, opens, …) to the message's ledger. Off for
	 * `users` audiences: their counts are read from the recipients' inboxes, so a direct push costs
	 * one Durable Object request instead of three.
	 */
	tally: boolean;
}

/** A held delivery as the inbox stores it (`held.delivery`) until it is released. */
export const HeldDeliveryJson = jsonCodec<InboxDelivery>();

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

export interface DeliveryResult {
	outcome: DeliveryOutcome;
	seq?: number;
	/** True when the inbox already had this message id: nothing was stored or sent again. */
	duplicate?: boolean;
}

/** What the recipient's own inbox knows of one message: the API view without vendor devices (the ledger has those). */
export type InboxRecipientView = Omit<RecipientView, "devices">;

/** A recipient's absolute state, sent from the inbox to the message's ledger (idempotent). */
export interface RecipientTally {
	userId: string;
	status: RecipientStatus;
	deliveredAt: number | null;
	ackedAt: number | null;
	openedAt: number | null;
	clickedAt: number | null;
}

/** Per-socket state, kept in the hibernation attachment. */
export interface SocketState {
	appId: string;
	userId: string;
	deviceId: string;
	/** Token expiry, epoch seconds: the socket is closed (4001) when it passes. */
	tokenExp: number;
	/** Set by hello: only ready sockets get message frames. */
	ready: boolean;
	badFrames: number;
}
