import type { MiddlewareHandler } from "hono";
import { AppError } from "./errors.js";

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads the body once with a hard 1 MiB cap (Content-Length is not trusted), rejects malformed
 * JSON, and hands the validators a JSON request whatever Content-Type the caller sent: the contract
 * says every body is JSON, and `curl -d` defaults to a form type.
 */
export const jsonBody: MiddlewareHandler = async (c, next) => {
	const method = c.req.method;
	if (method !== "POST" && method !== "PUT" && method !== "PATCH") return next();
	const declared = Number(c.req.header("content-length") ?? "0");
	if (declared > MAX_BODY_BYTES) throw tooLarge();
	const text = await readCapped(c.req.raw.body);
	let normalized = "{}";
	if (text.trim() !== "") {
		try {
			JSON.parse(text);
		} catch {
			throw new AppError("invalid_request", "The body is not valid JSON.", [{ path: "", message: "malformed JSON" }]);
		}
		normalized = text;
	}
	const headers = new Headers(c.req.raw.headers);
	headers.set("content-type", "application/json");
	headers.delete("content-length");
	c.req.raw = new Request(c.req.raw.url, { method, headers, body: normalized });
	return next();
};

function tooLarge() {
	return new AppError("payload_too_large", "The request body is over 1 MiB.");
}

async function readCapped(body: ReadableStream<Uint8Array> | null): Promise<string> {
	if (!body) return "";
	const reader = body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > MAX_BODY_BYTES) {
			await reader.cancel();
			throw tooLarge();
		}
		chunks.push(value);
	}
	const all = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		all.set(chunk, offset);
		offset += chunk.byteLength;
	}
	try {
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(all);
	} catch {
		throw new AppError("invalid_request", "The body is not valid UTF-8.", [{ path: "", message: "invalid UTF-8" }]);
	}
}
