import type { ErrorBody, ErrorCode, ErrorDetail } from "../../../protocol/errors.js";

/** Codes the SDK itself produces when there is no contract error body to read. */
export type TransportErrorCode = "network_error" | "timeout" | "invalid_response";

/** A contract code, one of the SDK's own, or a code this SDK version does not know yet. */
export type WarblerErrorCode = ErrorCode | TransportErrorCode | (string & {});

/**
 * Every failure of the server SDK. `status` is the HTTP status (0 when no answer arrived);
 * `code`, `message` and `details` come from the contract's error body when there is one.
 */
export class WarblerError extends Error {
	override readonly name = "WarblerError";
	readonly code: WarblerErrorCode;
	readonly status: number;
	readonly details: ErrorDetail[];
	/** Seconds from the `Retry-After` header (429 and 503 answers). */
	readonly retryAfter?: number;
	readonly method?: string;
	readonly path?: string;
	/** How many requests were made, retries included. */
	readonly attempts?: number;

	constructor(init: {
		code: WarblerErrorCode;
		status: number;
		message: string;
		details?: ErrorDetail[];
		retryAfter?: number;
		method?: string;
		path?: string;
		attempts?: number;
		cause?: unknown;
	}) {
		super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
		this.code = init.code;
		this.status = init.status;
		this.details = init.details ?? [];
		this.retryAfter = init.retryAfter;
		this.method = init.method;
		this.path = init.path;
		this.attempts = init.attempts;
	}
}

export function isWarblerError(err: unknown): err is WarblerError {
	return err instanceof WarblerError;
}

/** Builds the error for a non-2xx answer from its body text; tolerates bodies that are not the contract's. */
export function errorFromResponse(
	status: number,
	bodyText: string,
	context: { method: string; path: string; retryAfter?: number; attempts: number },
): WarblerError {
	let parsed: Partial<ErrorBody> | undefined;
	try {
		parsed = JSON.parse(bodyText) as Partial<ErrorBody>;
	} catch {
		parsed = undefined;
	}
	const e = parsed?.error;
	if (e && typeof e.code === "string") {
		return new WarblerError({
			code: e.code,
			status,
			message: typeof e.message === "string" ? e.message : `HTTP ${status}`,
			details: Array.isArray(e.details) ? e.details : [],
			...context,
		});
	}
	return new WarblerError({
		code: "invalid_response",
		status,
		message: `HTTP ${status} from ${context.method} ${context.path} without a Warbler error body`,
		...context,
	});
}
