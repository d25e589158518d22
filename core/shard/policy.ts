import type { DeliveryPolicy } from "../inbox/types.js";
import { optimalSendTime } from "../rules/optimal.js";
import { capExceeded, LONGEST_CAP_WINDOW_MS, quietHoursDecision, TRANSACTIONAL } from "../rules/settings.js";
import type { UserRecord } from "./model.js";

export type Verdict = { kind: "send" } | { kind: "capped" } | { kind: "dropped" } | { kind: "held"; until: number };

/**
 * The app's rules for one recipient at delivery time: over a frequency cap, dropped or held by
 * quiet hours, held for the user's best hour, or sent now. Transactional messages bypass caps and
 * quiet hours. Pure apart from pruning the user's send history past the longest cap window.
 */
export function verdictFor(user: UserRecord, p: DeliveryPolicy, now: number): Verdict {
	user.sends = user.sends.filter(([at]) => at > now - LONGEST_CAP_WINDOW_MS);
	if (p.caps.length && p.category !== TRANSACTIONAL) {
		const sent = user.sends.map(([at, category]) => ({ at, category }));
		if (capExceeded(sent, p.caps, p.category, now).exceeded) return { kind: "capped" };
	}
	let releaseAt: number | undefined;
	const quiet = quietHoursDecision(new Date(now), p.timeZone, p.quietHours, {
		category: p.category,
		respect_quiet_hours: p.respectQuietHours,
	});
	if (quiet.action === "drop") return { kind: "dropped" };
	if (quiet.action === "hold") releaseAt = quiet.until.getTime();
	if (p.optimal) {
		const best = optimalSendTime({
			histogram: histogram(user),
			timeZone: p.timeZone,
			now: new Date(releaseAt ?? now),
			withinHours: p.optimal.withinHours,
			fallbackLocalTime: p.optimal.fallbackLocalTime,
		}).getTime();
		if (best > now + 1000) releaseAt = best;
	}
	return releaseAt === undefined ? { kind: "send" } : { kind: "held", until: releaseAt };
}

/** Whether a send counts toward the user's frequency caps. */
export function countsTowardCaps(p: Pick<DeliveryPolicy, "category"> | undefined): boolean {
	return p !== undefined && p.category !== TRANSACTIONAL;
}

function histogram(user: UserRecord): number[] {
	const h = new Array<number>(168).fill(0);
	for (const [hour, n] of Object.entries(user.eng)) h[Number(hour)] = n;
	return h;
}
