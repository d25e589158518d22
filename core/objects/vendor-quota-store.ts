/**
 * The counters behind `settings.vendor_quotas`: which marketing messages each device got through
 * each vendor on each quota day. Kept in the app's VendorTokens object (one per app, SQLite), so a
 * vendor job asks once for its whole batch: no D1 work per recipient. A message counts once per
 * device however often its job is retried (the row is keyed by message id).
 */

const SCHEMA = `CREATE TABLE IF NOT EXISTS vendor_quota (
	channel TEXT NOT NULL, day TEXT NOT NULL, device TEXT NOT NULL, message TEXT NOT NULL,
	PRIMARY KEY (channel, day, device, message)) WITHOUT ROWID`;

/** Days kept: today and yesterday are enough for any zone's "today". */
const KEEP_DAYS = 2;

export interface QuotaRequest {
	channel: string;
	/** YYYY-MM-DD in the rule's zone. */
	day: string;
	messageId: string;
	/** `<userId>/<deviceId>` keys of the job's targets. */
	devices: string[];
	limit: number;
}

/** The devices that may get this marketing message today; records it for them. */
export function admitMarketing(sql: SqlStorage, req: QuotaRequest): string[] {
	sql.exec(SCHEMA);
	const admitted: string[] = [];
	for (const device of req.devices) {
		const rows = sql
			.exec<{ message: string }>(
				"SELECT message FROM vendor_quota WHERE channel = ? AND day = ? AND device = ?",
				req.channel,
				req.day,
				device,
			)
			.toArray();
		if (rows.some((r) => r.message === req.messageId)) {
			admitted.push(device);
		} else if (rows.length < req.limit) {
			sql.exec(
				"INSERT INTO vendor_quota (channel, day, device, message) VALUES (?, ?, ?, ?)",
				req.channel,
				req.day,
				device,
				req.messageId,
			);
			admitted.push(device);
		}
	}
	prune(sql, req.day);
	return admitted;
}

/** Drops days older than KEEP_DAYS before `day` (ISO dates compare as strings). */
function prune(sql: SqlStorage, day: string) {
	const cutoff = new Date(Date.parse(`${day}T00:00:00Z`) - KEEP_DAYS * 86_400_000).toISOString().slice(0, 10);
	sql.exec("DELETE FROM vendor_quota WHERE day < ?", cutoff);
}
