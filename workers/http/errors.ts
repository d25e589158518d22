import { HTTPException } from "hono/http-exception";
import { AppError } from "../../core/errors.js";
import type { ErrorBody } from "../../protocol/errors.js";
import { rateLimitHeaders } from "./ratelimit-headers.js";

export { AppError, notFound } from "../../core/errors.js";

/** The one place where any thrown value becomes an HTTP answer in the contract's error shape. */
export function errorResponse(err: unknown): Response {
	const appError = toAppError(err);
	const body: ErrorBody = { error: { code: appError.code, message: appError.message } };
	if (appError.details?.length) body.error.details = appError.details;
	const headers: Record<string, string> = { "content-type": "application/json" };
	if (appError.retryAfter !== undefined) headers["retry-after"] = String(Math.ceil(appError.retryAfter));
	if (appError.policies?.length) Object.assign(headers, rateLimitHeaders(appError.policies));
	return new Response(JSON.stringify(body), { status: appError.status, headers });
}

function toAppError(err: unknown): AppError {
	if (err instanceof AppError) return err;
	if (err instanceof HTTPException) {
		// Hono's own validators and middleware raise these (e.g. malformed JSON).
		if (err.status === 413) return new AppError("payload_too_large", "The request body is over 1 MiB.");
		if (err.status === 401) return new AppError("unauthorized", "Missing or invalid credential.");
		return new AppError("invalid_request", err.message || "The request is malformed.");
	}
	// Anything else is our bug or an infrastructure failure: never leak internals.
	console.error("unhandled error", err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err));
	return new AppError("unavailable", "The service could not complete the request; retry it.", undefined, 1);
}
