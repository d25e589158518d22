/**
 * The one JSON-over-HTTP helper every test suite uses. It knows nothing of where the Worker runs:
 * workerd tests hand it the Worker's own fetch handler (test/workers/http.ts), end-to-end tests hand
 * it Node's fetch and the local stack's base URL (test/e2e/helpers.ts).
 */

/** How a request reaches the Worker: `exports.default.fetch` inside workerd, `fetch` in Node. */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export interface Answer {
	status: number;
	/** Parsed JSON, or undefined for an empty body or one that is not JSON. */
	// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON, read field by field in assertions
	body: any;
	text: string;
	headers: Headers;
}

export interface CallOptions {
	/** Sent as is (a string is not JSON-encoded); `undefined` sends no raw body. */
	raw?: BodyInit;
	/** Added to (and overriding) the defaults. */
	headers?: Record<string, string>;
}

/**
 * One call: `token` (null or undefined: no authorization header) is sent as a bearer token, `body`
 * is JSON-encoded (strings too; `extra.raw` sends bytes as they are), and a request with a body
 * says `content-type: application/json`.
 */
export type Call = (method: string, path: string, token?: string | null, body?: unknown, extra?: CallOptions) => Promise<Answer>;

/** A `Call` against `baseUrl` through `fetcher`. */
export function jsonApi(fetcher: Fetcher, baseUrl: string): Call {
	const base = baseUrl.replace(/\/+$/, "");
	return (method, path, token, body, extra = {}) => {
		const headers: Record<string, string> = {};
		const init: RequestInit = { method, headers };
		if (extra.raw !== undefined) init.body = extra.raw;
		else if (body !== undefined) init.body = JSON.stringify(body);
		if (init.body !== undefined) headers["content-type"] = "application/json";
		if (token !== null && token !== undefined) headers.authorization = `Bearer ${token}`;
		Object.assign(headers, extra.headers);
		return answer(fetcher(`${base}${path}`, init));
	};
}

/** Reads a response whole: status, headers, text and the text parsed as JSON when it is JSON. */
export async function answer(response: Response | Promise<Response>): Promise<Answer> {
	const res = await response;
	const text = await res.text();
	let body: unknown;
	if (text) {
		try {
			body = JSON.parse(text);
		} catch {
			body = undefined;
		}
	}
	return { status: res.status, body, text, headers: res.headers };
}
