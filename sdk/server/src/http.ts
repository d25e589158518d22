import { errorFromResponse, WarblerError } from "./errors.js";
import { DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, type RetryOptions, retryDelay, sleep } from "./retry.js";

/** The subset of `fetch` the SDK calls; Node's, Workers', Deno's and browsers' all fit. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface RequestOptions {
	/** Cancels the call, including any wait between retries. */
	signal?: AbortSignal;
}

export interface RequestSpec extends RequestOptions {
	method: "GET" | "POST" | "PUT" | "DELETE";
	/** Path with every parameter already encoded. */
	path: string;
	query?: Record<string, string | number | undefined>;
	body?: unknown;
	/**
	 * Repeating the request is harmless, so it may be retried after an unknown outcome (network
	 * error, timeout, 5xx). Requests that are not are still retried on 429.
	 */
	idempotent: boolean;
}

export interface TransportOptions {
	baseUrl: string;
	token: string;
	fetch?: FetchLike;
	retry?: RetryOptions;
	timeoutMs?: number;
	headers?: Record<string, string>;
}

/** Sends requests with the bearer token, a per-attempt timeout, retries and contract error mapping. */
export class Transport {
	private readonly baseUrl: string;
	private readonly fetch: FetchLike;
	private readonly retry: Required<RetryOptions>;
	private readonly timeoutMs: number;
	private readonly headers: Record<string, string>;

	constructor(options: TransportOptions) {
		if (!options.baseUrl) throw new TypeError("warbler: baseUrl is required");
		if (!options.token) throw new TypeError("warbler: an app key (or the admin token) is required");
		this.baseUrl = options.baseUrl.replace(/\/+$/, "");
		// Called through globalThis: Workers reject a detached `fetch` ("Illegal invocation").
		this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
		this.retry = { ...DEFAULT_RETRY, ...options.retry };
		this.timeoutMs = options.timeoutMs ?? 30_000;
		this.headers = { ...options.headers, authorization: `Bearer ${options.token}` };
	}

	async request<T>(spec: RequestSpec): Promise<T> {
		const url = this.url(spec);
		const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
		const headers: Record<string, string> = { ...this.headers, accept: "application/json" };
		if (body !== undefined) headers["content-type"] = "application/json";
		const context = { method: spec.method, path: spec.path };

		for (let attempt = 0; ; attempt++) {
			const attempts = attempt + 1;
			const canRetry = attempt < this.retry.maxRetries;
			let response: Response;
			try {
				response = await this.once(url, { method: spec.method, headers, body }, spec.signal);
			} catch (err) {
				if (spec.signal?.aborted) throw err;
				const timedOut = err instanceof AttemptTimeout;
				const error = new WarblerError({
					code: timedOut ? "timeout" : "network_error",
					status: 0,
					message: timedOut
						? `${spec.method} ${spec.path} timed out after ${this.timeoutMs} ms`
						: `${spec.method} ${spec.path} failed: ${err instanceof Error ? err.message : String(err)}`,
					cause: timedOut ? undefined : err,
					...context,
					attempts,
				});
				if (!spec.idempotent || !canRetry) throw error;
				await sleep(this.backoff(attempt), spec.signal);
				continue;
			}

			if (response.ok) return (await this.parse(response, context, attempts)) as T;

			const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
			const text = await response.text().catch(() => "");
			const error = errorFromResponse(response.status, text, {
				...context,
				attempts,
				retryAfter: retryAfterMs === undefined ? undefined : retryAfterMs / 1000,
			});
			if (!canRetry || !isRetryableStatus(response.status, spec.idempotent)) throw error;
			const wait = retryAfterMs ?? this.backoff(attempt);
			if (wait > this.retry.maxRetryAfterMs) throw error;
			await sleep(wait, spec.signal);
		}
	}

	private url(spec: RequestSpec): string {
		let url = `${this.baseUrl}${spec.path}`;
		const pairs = Object.entries(spec.query ?? {}).filter(([, v]) => v !== undefined && v !== "");
		if (pairs.length) url += `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&")}`;
		return url;
	}

	private backoff(attempt: number): number {
		return retryDelay(attempt, this.retry.baseMs, this.retry.maxMs);
	}

	/** One attempt, bounded by the timeout and the caller's signal. */
	private async once(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
		const controller = new AbortController();
		const onAbort = () => controller.abort(signal?.reason);
		if (signal?.aborted) controller.abort(signal.reason);
		signal?.addEventListener("abort", onAbort, { once: true });
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			controller.abort();
		}, this.timeoutMs);
		try {
			return await this.fetch(url, { ...init, signal: controller.signal });
		} catch (err) {
			throw timedOut ? new AttemptTimeout() : err;
		} finally {
			clearTimeout(timer);
			signal?.removeEventListener("abort", onAbort);
		}
	}

	private async parse(response: Response, context: { method: string; path: string }, attempts: number): Promise<unknown> {
		if (response.status === 204) return undefined;
		const text = await response.text();
		if (text === "") return undefined;
		try {
			return JSON.parse(text);
		} catch (err) {
			throw new WarblerError({
				code: "invalid_response",
				status: response.status,
				message: `${context.method} ${context.path} answered ${response.status} with a body that is not JSON`,
				cause: err,
				...context,
				attempts,
			});
		}
	}
}

/** Marks an attempt that ran out of time (as opposed to one the caller aborted). */
class AttemptTimeout extends Error {}
