import type { LedgerSummary } from "../ledger/types.js";

export interface FunnelStep {
	targeted: number;
	delivered: number;
	opened: number;
	clicked: number;
}

/**
 * A message's funnel, targeted → delivered → opened → clicked, overall and by channel. Inboxes
 * (`websocket`) count delivered when a device got the frame; a vendor counts delivered when it
 * accepted the push (vendors report no per-device delivery here). Opens and clicks are reported by
 * the app, whatever carried the message, so they appear overall only.
 */
export function funnelOf(
	summary: LedgerSummary,
): FunnelStep & { by_channel: Record<string, Omit<FunnelStep, "opened" | "clicked">> } {
	const c = summary.counts;
	const byChannel: Record<string, { targeted: number; delivered: number }> = {
		websocket: { targeted: c.targeted, delivered: c.delivered },
	};
	for (const [channel, v] of Object.entries(c.by_channel)) {
		const pushed = v.sent + v.failed + v.invalid_token + ((v as { quota_exceeded?: number }).quota_exceeded ?? 0);
		byChannel[channel] = { targeted: pushed, delivered: v.sent };
	}
	return { targeted: c.targeted, delivered: c.delivered, opened: c.opened, clicked: c.clicked, by_channel: byChannel };
}
