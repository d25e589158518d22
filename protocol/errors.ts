/** Machine codes of the contract's error body `{"error": {"code", "message", "details"?}}`. */
export const ERROR_STATUS = {
	invalid_request: 400,
	unauthorized: 401,
	forbidden: 403,
	not_found: 404,
	method_not_allowed: 405,
	conflict: 409,
	payload_too_large: 413,
	rate_limited: 429,
	quota_exceeded: 429,
	unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
	/** JSON path of the offending field, e.g. "audience.users[3]". Empty for the whole body. */
	path: string;
	message: string;
}

export interface ErrorBody {
	error: { code: ErrorCode; message: string; details?: ErrorDetail[] };
}
