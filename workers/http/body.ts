import type { MiddlewareHandler } from "hono";
import { detailPath } from "../../core/util/detail-path.js";
import { nestingDepth } from "../../core/util/json-depth.js";
import { AppError } from "./errors.js";

export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Deeper documents are refused before any validator sees them: the validators and serializers
 * recurse, so a 1 MiB body of nested brackets would otherwise exhaust the stack (a 5xx).
 */
export const MAX_JSON_DEPTH = 64;

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
	const text = formAsJson(c.req.path, c.req.header("content-type"), await readCapped(c.req.raw.body));
	let normalized = "{}";
	if (text.trim() !== "") {
		if (nestingDepth(text) > MAX_JSON_DEPTH) {
			throw new AppError("invalid_request", `The body nests deeper than ${MAX_JSON_DEPTH} levels.`, [
				{ path: "", message: `nested deeper than ${MAX_JSON_DEPTH} levels` },
			]);
		}
		let parsed: unknown;
		try {
			parsed = JSON.parse(text);
		} catch {
			throw new AppError("invalid_request", "The body is not valid JSON.", [{ path: "", message: "malformed JSON" }]);
		}
		const bad = findBadValue(parsed, []);
		if (bad) {
			throw new AppError("invalid_request", bad.message, [{ path: detailPath(bad.path), message: bad.detail }]);
		}
		normalized = text;
	}
	const headers = new Headers(c.req.raw.headers);
	headers.set("content-type", "application/json");
	headers.delete("content-length");
	c.req.raw = new Request(c.req.raw.url, { method, headers, body: normalized });
	return next();
};

/**
 * Vendor receipts are posted by the vendors, and Xiaomi and Meizu post forms (one field holding
 * JSON: core/receipts/parse.ts): on /v1/receipts/ only, a form body that is not JSON text becomes the
 * JSON object of its fields (last value wins), checked below like any body. Elsewhere every body
 * stays JSON whatever its Content-Type.
 */
function formAsJson(path: string, contentType: string | undefined, text: string): string {
	if (!path.startsWith("/v1/receipts/") || !/^application\/x-www-form-urlencoded/i.test(contentType ?? "")) return text;
	const start = text.trimStart()[0];
	if (start === undefined || start === "{" || start === "[") return text;
	return JSON.stringify(Object.fromEntries(new URLSearchParams(text)));
}

/** A string holding half of a UTF-16 surrogate pair: no UTF-8 text can carry it. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The first key or string no handler should ever see; recursion is bounded by MAX_JSON_DEPTH.
 * - "__proto__": objects built from the body by the validators would turn it into a prototype
 *   and drop the field silently.
 * - lone surrogates (`"\ud800"`): valid JSON escapes but not Unicode; stored, they come back
 *   as different characters than were sent.
 */
function findBadValue(value: unknown, path: PropertyKey[]): { path: PropertyKey[]; message: string; detail: string } | undefined {
	if (typeof value === "string") {
		return LONE_SURROGATE.test(value)
			? { path: [...path], message: "A string in the body is not valid Unicode.", detail: "lone UTF-16 surrogate" }
			: undefined;
	}
	if (typeof value !== "object" || value === null) return undefined;
	const entries: [PropertyKey, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
	for (const [key, child] of entries) {
		path.push(key);
		let found: ReturnType<typeof findBadValue>;
		if (key === "__proto__") found = { path: [...path], message: "The key __proto__ is not allowed.", detail: "reserved key" };
		else if (typeof key === "string" && LONE_SURROGATE.test(key)) {
			found = { path: [...path], message: "A key in the body is not valid Unicode.", detail: "lone UTF-16 surrogate" };
		} else found = findBadValue(child, path);
		path.pop();
		if (found) return found;
	}
	return undefined;
}

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
