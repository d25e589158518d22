import type { DeliveryChannels, MessageContent } from "../../protocol/message.js";
import type { DeliveryOutcome, DeliveryPolicy } from "../inbox/types.js";

/** Which shard a call is for: a shard learns its identity (and whether it must first take over users) from its callers. */
export interface ShardAddress {
	appId: string;
	/** The shard's name (`${appId}/shard/${index}`). */
	shard: string;
}

/** One recipient of a shard delivery, with what is particular to them. */
export interface ShardTarget {
	userId: string;
	/** The user's zone (quiet hours, optimal time); the app default when absent. */
	timeZone?: string;
	/** Rendered for this recipient (templates); else the message's content. */
	content?: MessageContent;
}

/** A message for the targets one shard holds: everything needed to store and send, nothing to look up. */
export interface ShardDelivery extends ShardAddress {
	messageId: string;
	/** 0 for direct sends; the fan-out page for broadcasts. Idempotency is per (message, part). */
	part: number;
	content: MessageContent;
	sentAt: string;
	/** Epoch ms. */
	expiresAt: number;
	collapseKey?: string;
	/** The message's `options.category` (statistics group by it). */
	category?: string;
	/** Per-app inbox cap per user; the oldest message is dropped past it. */
	cap: number;
	/** Send frames to connected devices now (false for channels=vendor: kept for the next connect). */
	live: boolean;
	channels: DeliveryChannels;
	/** channels=auto: if a connected device got it but none acks within this many ms, vendor push. */
	fallbackAfterMs?: number;
	policy?: Omit<DeliveryPolicy, "timeZone">;
	defaultTimeZone: string;
	/** Report counts to the message's ledger (broadcasts). Direct sends are counted where they are. */
	tally: boolean;
	targets: ShardTarget[];
}

export interface ShardResult {
	userId: string;
	outcome: DeliveryOutcome;
	seq?: number;
	/** The user already had this message: nothing was stored or sent again. */
	duplicate?: boolean;
}

/** Zero counts. */
export function emptyCounts(): ShardCounts {
	return { targeted: 0, delivered: 0, acked: 0, opened: 0, clicked: 0, expired: 0, recalled: 0, capped: 0, dropped: 0 };
}

/** Exact counts of one message over its recipients in one shard: absolute, so a repeated report is harmless. */
export interface ShardCounts {
	targeted: number;
	delivered: number;
	acked: number;
	opened: number;
	clicked: number;
	expired: number;
	recalled: number;
	capped: number;
	dropped: number;
}

/** What an app's plan limits at connect (headers x-warbler-max-devices / -connections from the API worker). */
export interface ConnectLimits {
	devices?: number;
	connections?: number;
}
