import { z } from "@hono/zod-openapi";
import { ID_PATTERN } from "../../protocol/ids.js";
import { AppError } from "../http/errors.js";

export { Id, JsonValue } from "../../core/json.js";

export const ErrorSchema = z
	.object({
		error: z.object({
			code: z.string().openapi({ example: "invalid_request" }),
			message: z.string(),
			details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
		}),
	})
	.openapi("Error");

export const Cursor = z.string().max(512).optional();

export function pageLimit(def: number, max: number) {
	return z.coerce.number().int().min(1).max(max).default(def).openapi({ type: "integer" });
}

const errorResponse = (description: string) => ({
	description,
	content: { "application/json": { schema: ErrorSchema } },
});

/** The error answers every authenticated route can give, for the OpenAPI document. */
export const standardErrors = {
	400: errorResponse("Invalid request: malformed JSON or a schema violation."),
	401: errorResponse("Missing, malformed, expired or revoked credential."),
	403: errorResponse("The credential lacks the scope."),
	404: errorResponse("No such resource in this app."),
	413: errorResponse("Body or content over its documented limit."),
	429: errorResponse("Over a rate limit (`rate_limited`) or a plan quota (`quota_exceeded`): Retry-After and RateLimit headers."),
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
	description,
	content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
	body: { content: { "application/json": { schema } }, required },
});

/** Opaque paging cursors: base64url of the last key served. */
export function encodeCursor(key: string): string {
	return btoa(unescape(encodeURIComponent(key)))
		.replace(/\+/g, "-")
		.replace(/\//g, "_")
		.replace(/=+$/, "");
}

export function decodeCursor(cursor: string | undefined): string | undefined {
	if (!cursor) return undefined;
	let key: string | undefined;
	try {
		const b64 = cursor.replace(/-/g, "+").replace(/_/g, "/");
		key = decodeURIComponent(escape(atob(b64)));
	} catch {
		key = undefined;
	}
	// Every key this API pages by is an id, so anything else was not issued by it.
	if (key === undefined || !ID_PATTERN.test(key)) {
		throw new AppError("invalid_request", "The cursor is not one this API returned.", [
			{ path: "cursor", message: "invalid cursor" },
		]);
	}
	return key;
}
