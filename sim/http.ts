/** Small HTTP helpers shared by the vendor handlers: one request/response shape, body reading, JSON and forms. */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/** A request as the handlers see it: body already read (bounded). */
export interface SimRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: IncomingHttpHeaders;
	body: Buffer;
	/** True when the body was larger than the read limit (the handler answers with its vendor's "too large"). */
	truncated: boolean;
}

export interface SimResponse {
	status: number;
	headers?: Record<string, string>;
	/** Serialized as JSON when present. */
	json?: unknown;
	text?: string;
}

/** Hard cap on any request body; vendor limits (4 KiB) are far below it. */
export const MAX_READ_BYTES = 1 << 20;

export async function readBody(req: IncomingMessage, limit = MAX_READ_BYTES): Promise<{ body: Buffer; truncated: boolean }> {
	const chunks: Buffer[] = [];
	let size = 0;
	let truncated = false;
	for await (const chunk of req) {
		const buf = chunk as Buffer;
		size += buf.length;
		if (size > limit) {
			truncated = true;
			continue; // keep draining so the client can read our answer
		}
		chunks.push(buf);
	}
	return { body: Buffer.concat(chunks), truncated };
}

export function json(status: number, body: unknown, headers?: Record<string, string>): SimResponse {
	return headers ? { status, json: body, headers } : { status, json: body };
}

/** First value of a request header (node lower-cases names). */
export function header(req: SimRequest, name: string): string | undefined {
	const value = req.headers[name.toLowerCase()];
	return Array.isArray(value) ? value[0] : value;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: string };

export function parseJson(body: Buffer): JsonParse {
	try {
		return { ok: true, value: JSON.parse(body.toString("utf8")) };
	} catch (err) {
		return { ok: false, error: (err as Error).message };
	}
}

export function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Headers as recorded: lower-case names, credentials replaced by their scheme and "[redacted]". */
export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers)) {
		if (value === undefined) continue;
		const v = Array.isArray(value) ? value.join(", ") : value;
		if (name === "authorization") {
			const scheme = v.split(/[\s=]/, 1)[0] ?? "";
			out[name] = `${scheme} [redacted]`;
		} else {
			out[name] = v;
		}
	}
	return out;
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

export function randomToken(bytes: number, encoding: "hex" | "base64url" | "base64" = "base64url"): string {
	return randomBytes(bytes).toString(encoding);
}

/** Bearer token of an `Authorization: Bearer …` header, or undefined. */
export function bearer(req: SimRequest): string | undefined {
	const auth = header(req, "authorization");
	const match = auth?.match(/^Bearer\s+(\S+)\s*$/i);
	return match?.[1];
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
