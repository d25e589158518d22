/**
 * What statistics count, per bucket of time: the same numbers as the messages' own counts, added up
 * over the messages accepted in that bucket (a message's later deliveries, opens and clicks count in
 * the hour it was accepted, so a window's totals equal the sum of its messages' counts).
 */
export const STAT_FIELDS = [
	"accepted",
	"targeted",
	"delivered",
	"sent",
	"acked",
	"opened",
	"clicked",
	"failed",
	"invalid_token",
	"quota_exceeded",
	/** Pushes the vendor reported as arrived / clicked (vendor receipts, where a vendor sends them). */
	"vendor_delivered",
	"vendor_clicked",
	"expired",
	"capped",
	"dropped",
	"recalled",
] as const;

export type StatField = (typeof STAT_FIELDS)[number];
export type StatCounts = Record<StatField, number>;

export function emptyStats(): StatCounts {
	return Object.fromEntries(STAT_FIELDS.map((f) => [f, 0])) as StatCounts;
}

export type StatsInterval = "hour" | "day";
export type StatsGroupBy = "channel" | "platform" | "category";

export const INTERVAL_MS: Record<StatsInterval, number> = { hour: 3600_000, day: 86_400_000 };
/** The most points one answer has per series (31 days of hours, a year and a day of days). */
export const MAX_POINTS = 800;

/** The series key of inbox (WebSocket) counts when grouped by channel or platform. */
export const WEBSOCKET_KEY = "websocket";
/** The series key of messages without `options.category`. */
export const NO_CATEGORY_KEY = "default";

/** The platform each vendor channel reaches. */
export function platformOf(channel: string): string {
	if (channel === "apns") return "ios";
	if (channel === "webpush") return "web";
	if (channel === WEBSOCKET_KEY) return WEBSOCKET_KEY;
	return "android";
}
