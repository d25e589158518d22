/**
 * One UTC day of an app's usage (`GET /v1/usage`, `days[]` without its `date`, and `totals`): the
 * server counts it, the console draws it.
 */
export interface UsageDayCounts {
	api_requests: number;
	messages_accepted: number;
	/** By channel. */
	deliveries: Record<string, number>;
	opens: number;
	clicks: number;
	peak_connections: number;
	webhook_deliveries: number;
}
