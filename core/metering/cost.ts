/**
 * The estimated Cloudflare cost of an app's usage: counted operations times list prices, without the
 * account's monthly allowances (those are shared by every app of the deployment) and without the
 * Workers Paid base fee. Quantities that are not counted one by one are estimated from counted ones
 * with the factors below, each stated in docs/api.md (Usage).
 *
 * List prices (USD, Workers Paid, read 2026-12-01):
 * - Workers: $0.30 per million requests, $0.02 per million CPU ms
 *   (https://developers.cloudflare.com/workers/platform/pricing/)
 * - Durable Objects: $0.15 per million requests, $12.50 per million GB-s of duration; SQLite storage
 *   $0.001 per million rows read, $1.00 per million rows written
 *   (https://developers.cloudflare.com/durable-objects/platform/pricing/)
 * - D1: $0.001 per million rows read, $1.00 per million rows written
 *   (https://developers.cloudflare.com/d1/platform/pricing/)
 * - Queues: $0.40 per million operations (a message is a write, a read and a delete)
 *   (https://developers.cloudflare.com/queues/platform/pricing/)
 *
 * A deployment with other prices (a contract, a currency) sets the `USAGE_PRICES` variable to a JSON
 * object overriding any of the keys of `DEFAULT_PRICES`, e.g. `{"workers_requests": 0.25}`.
 */
export const DEFAULT_PRICES = {
	/** USD per million Worker requests. */
	workers_requests: 0.3,
	/** USD per million CPU milliseconds. */
	workers_cpu_ms: 0.02,
	/** USD per million Durable Object requests (RPC calls, WebSocket messages received, alarms). */
	do_requests: 0.15,
	/** USD per million GB-s of Durable Object duration. */
	do_duration_gb_s: 12.5,
	/** USD per million Durable Object SQLite rows written. */
	do_rows_written: 1,
	/** USD per million D1 rows read. */
	d1_rows_read: 0.001,
	/** USD per million D1 rows written. */
	d1_rows_written: 1,
	/** USD per million Queue operations. */
	queue_operations: 0.4,
	currency: "USD",
} as const;
export type Prices = {
	-readonly [K in keyof typeof DEFAULT_PRICES]: (typeof DEFAULT_PRICES)[K] extends string ? string : number;
};

/**
 * Estimation factors: what one counted event costs in operations, from the code's own path
 * (docs/architecture.md) and the benchmark's measurements (BENCHMARKS.md).
 */
export const FACTORS = {
	/** CPU ms per API request (the benchmark's median for a send is about 1.5 ms). */
	cpuMsPerRequest: 2,
	/** Durable Object calls per API request: the meter's admit. */
	doCallsPerRequest: 1,
	/** Per accepted message: a shard call per part and a ledger call (one of each, at least). */
	doCallsPerMessage: 2,
	/** Per WebSocket delivery: the ack frame the device sends back (acks are batched; at most one). */
	doCallsPerWsDelivery: 1,
	/** Wall time of a Durable Object call, seconds, at 128 MB (duration is billed per GB-s). */
	doSecondsPerCall: 0.005,
	doGb: 0.125,
	/** D1 rows read per API request: the key and its app (one joined lookup). */
	d1RowsReadPerRequest: 3,
	/** D1 rows written per accepted message: the message row (and its index entries). */
	d1RowsWrittenPerMessage: 1,
	/** SQLite rows a shard writes per message part (the entry row, hot arrays and chunk at flush). */
	doRowsWrittenPerMessage: 3,
	/** Queue operations per vendor push job (write, read, delete) — a job carries up to 100 targets; one per delivery is the worst case. */
	queueOpsPerVendorDelivery: 3,
	/** Queue operations per webhook attempt. */
	queueOpsPerWebhook: 3,
} as const;

export interface CostLine {
	item: string;
	quantity: number;
	unit_price: number;
	per: number;
	amount: number;
}

export interface UsageTotals {
	api_requests: number;
	messages_accepted: number;
	deliveries: Record<string, number>;
	opens: number;
	clicks: number;
	webhook_deliveries: number;
}

/** Prices from `USAGE_PRICES` over the defaults; a malformed value is ignored (and logged). */
export function pricesFrom(raw: string | undefined): Prices {
	const prices: Prices = { ...DEFAULT_PRICES };
	if (!raw) return prices;
	try {
		const given = JSON.parse(raw) as Record<string, unknown>;
		for (const k of Object.keys(prices) as (keyof Prices)[]) {
			const v = given[k];
			if (k === "currency") {
				if (typeof v === "string" && /^[A-Z]{3}$/.test(v)) prices.currency = v;
			} else if (typeof v === "number" && Number.isFinite(v) && v >= 0) {
				prices[k] = v;
			}
		}
	} catch {
		console.error("USAGE_PRICES is not a JSON object; using the list prices");
	}
	return prices;
}

const round = (n: number, digits = 6) => Math.round(n * 10 ** digits) / 10 ** digits;

export function estimateCost(t: UsageTotals, prices: Prices) {
	const ws = t.deliveries.websocket ?? 0;
	const vendor = Object.entries(t.deliveries).reduce((n, [k, v]) => (k === "websocket" ? n : n + v), 0);
	const doCalls =
		t.api_requests * FACTORS.doCallsPerRequest +
		t.messages_accepted * FACTORS.doCallsPerMessage +
		ws * FACTORS.doCallsPerWsDelivery +
		t.opens +
		t.clicks;
	const M = 1_000_000;
	const line = (item: string, quantity: number, price: number): CostLine => ({
		item,
		quantity: round(quantity, 3),
		unit_price: price,
		per: M,
		amount: round((quantity / M) * price),
	});
	const lines = [
		line("Workers requests", t.api_requests, prices.workers_requests),
		line("Workers CPU ms (estimated)", t.api_requests * FACTORS.cpuMsPerRequest, prices.workers_cpu_ms),
		line("Durable Object requests (estimated)", doCalls, prices.do_requests),
		line("Durable Object duration GB-s (estimated)", doCalls * FACTORS.doSecondsPerCall * FACTORS.doGb, prices.do_duration_gb_s),
		line(
			"Durable Object SQLite rows written (estimated)",
			t.messages_accepted * FACTORS.doRowsWrittenPerMessage,
			prices.do_rows_written,
		),
		line("D1 rows read (estimated)", t.api_requests * FACTORS.d1RowsReadPerRequest, prices.d1_rows_read),
		line("D1 rows written (estimated)", t.messages_accepted * FACTORS.d1RowsWrittenPerMessage, prices.d1_rows_written),
		line(
			"Queue operations (estimated)",
			vendor * FACTORS.queueOpsPerVendorDelivery + t.webhook_deliveries * FACTORS.queueOpsPerWebhook,
			prices.queue_operations,
		),
	];
	return { currency: prices.currency, total: round(lines.reduce((n, l) => n + l.amount, 0)), lines };
}
