import type { MessageCounts, MessageStatus } from "../../protocol/message.js";
import type { DeliveryOutcome } from "../inbox/types.js";

/** What the MessageLedger Durable Object takes and answers. */
export type VendorOutcome = "sent" | "failed" | "invalid_token" | "quota_exceeded";

export interface VendorResult {
	userId: string;
	deviceId: string;
	outcome: VendorOutcome;
	reason?: string;
	/** The vendor token pushed to: kept only where receipts are on, so a receipt finds its device. */
	token?: string;
}

export type ChannelCounts = Record<
	string,
	{
		sent: number;
		failed: number;
		invalid_token: number;
		quota_exceeded: number;
		/** Vendor receipts (core/receipts/): devices that reported arrival / a click; absent when none did. */
		delivered?: number;
		clicked?: number;
	}
>;

/** One vendor receipt for a device of this message, by the token it was pushed to. */
export interface ReceiptUpdate {
	token: string;
	kind: "delivered" | "clicked";
	at: number;
}

export interface JobResult {
	userId: string;
	outcome: DeliveryOutcome | "failed";
	reason?: string;
	/** The recipient's shard already had the message (a retried or resumed delivery). */
	duplicate?: boolean;
}

export interface LedgerSummary {
	status: MessageStatus;
	counts: MessageCounts & { by_channel: ChannelCounts };
}
