import { ERROR_STATUS, type ErrorCode, type ErrorDetail } from "../protocol/errors.js";

/**
 * An error as a value: a contract code, a human sentence, and optional per-field details. The domain
 * throws these; `workers/http/errors.ts` is the one place that turns them into HTTP answers.
 */
export class AppError extends Error {
	constructor(
		readonly code: ErrorCode,
		message: string,
		readonly details?: ErrorDetail[],
		/** Seconds, for 429 and 503 answers. */
		readonly retryAfter?: number,
	) {
		super(message);
		this.name = "AppError";
	}

	get status(): (typeof ERROR_STATUS)[ErrorCode] {
		return ERROR_STATUS[this.code];
	}
}

export const notFound = (what: string) => new AppError("not_found", `No such ${what} in this app.`);
