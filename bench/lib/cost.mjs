/**
 * Operations per delivered message and the cost per million pushes at Cloudflare list prices, from
 * the counters bench/instrument.mjs collected inside workerd during one scenario.
 */

/** The price list (USD per million). */
export const PRICES = {
	workerRequests: 0.3,
	doRequests: 0.15,
	queueOps: 0.4,
	d1RowsWritten: 1.0,
	d1RowsRead: 0.001,
};

/**
 * Not in the list, but billed: SQLite-backed Durable Object storage, at the same per-row
 * prices as D1 since January 2026. Shown as a separate line so the figure stays comparable.
 */
export const DO_STORAGE_PRICES = { rowsWritten: 1.0, rowsRead: 0.001 };

/** Incoming WebSocket messages are billed as DO requests at 20:1. */
export const WS_MESSAGES_PER_DO_REQUEST = 20;

const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);

/** Raw operation totals of one counter snapshot. */
export function operations(c) {
	const wsIn = sum(c.doRequests.wsMessage);
	const queueOps = Object.values(c.queues).reduce((a, q) => a + q.writtenChunks + q.read + q.acked, 0);
	return {
		workerRequests: c.worker.fetch + c.worker.queueBatches,
		workerFetch: c.worker.fetch,
		workerQueueInvocations: c.worker.queueBatches,
		doRequests: sum(c.doRequests.rpc) + sum(c.doRequests.fetch) + sum(c.doRequests.alarm) + wsIn / WS_MESSAGES_PER_DO_REQUEST,
		doRpc: sum(c.doRequests.rpc),
		doFetch: sum(c.doRequests.fetch),
		doAlarms: sum(c.doRequests.alarm),
		doWsMessagesIn: wsIn,
		queueOps,
		d1RowsWritten: c.d1.rowsWritten,
		d1RowsRead: c.d1.rowsRead,
		d1Statements: c.d1.statements,
		doSqlRowsWritten: Object.values(c.doSql).reduce((a, s) => a + s.rowsWritten, 0),
		doSqlRowsRead: Object.values(c.doSql).reduce((a, s) => a + s.rowsRead, 0),
		doSetAlarm: Object.values(c.doSql).reduce((a, s) => a + s.setAlarm, 0),
	};
}

/** Per delivered message, and USD per million deliveries. */
export function costPerMillion(c, deliveries) {
	const ops = operations(c);
	const per = Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, deliveries ? v / deliveries : null]));
	const usd = {
		workerRequests: per.workerRequests * PRICES.workerRequests,
		doRequests: per.doRequests * PRICES.doRequests,
		queueOps: per.queueOps * PRICES.queueOps,
		d1RowsWritten: per.d1RowsWritten * PRICES.d1RowsWritten,
		d1RowsRead: per.d1RowsRead * PRICES.d1RowsRead,
	};
	const total = Object.values(usd).reduce((a, b) => a + b, 0);
	const doStorage = per.doSqlRowsWritten * DO_STORAGE_PRICES.rowsWritten + per.doSqlRowsRead * DO_STORAGE_PRICES.rowsRead;
	return {
		deliveries,
		totals: ops,
		perDelivery: per,
		usdPerMillion: { ...usd, total },
		doStorageUsdPerMillion: doStorage,
		allInUsdPerMillion: total + doStorage,
		rpcByMethod: c.doRequests.rpc,
		byRoute: c.worker.byRoute,
		queues: c.queues,
		doSql: c.doSql,
		doStarted: c.doStarted ?? {},
	};
}

/**
 * What the sharded design says a delivery should cost, for comparison with the measurement. Direct:
 * one shard RPC per push (the ack comes back as an incoming WebSocket message, billed at 20:1).
 * Broadcast, per recipient: one shard RPC per shard per deliver job of up to 1,000 users (1/1,000
 * with one shard) plus the job's ledger calls (recordJob and the shard's count reports: ~3/1,000)
 * and the broadcast's own (begin, startFanout, expectJobs); no queue operations when it fans out in
 * the API call's invocation.
 */
export function designModel(kind) {
	if (kind === "direct") return { doRequests: 1, doRequestsWithAckTally: 1.05, queueOps: 0, workerRequests: 1 };
	return { doRequests: 0.007, doRequestsWithAckTally: 0.057, queueOps: 0, workerRequests: 0.001 };
}
