import { ERROR_STATUS, type ErrorCode, type ErrorDetail } from "../protocol/errors.js";
import type { PolicyState } from "./metering/buckets.js";

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
		/** For 429 answers: the limits in play, sent as RateLimit headers (docs/api.md: Rate limits). */
		readonly policies?: PolicyState[],
	) {
		super(message);
		this.name = "AppError";
	}

	get status(): (typeof ERROR_STATUS)[ErrorCode] {
		return ERROR_STATUS[this.code];
	}
}

export const notFound = (what: string) => new AppError("not_found", `No such ${what} in this app.`);
