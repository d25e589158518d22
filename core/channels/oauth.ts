import { errorText } from "../util/errors.js";
import {
	authFailure,
	ChannelAuthError,
	isTransientStatus,
	networkRetry,
	readJson,
	type SendTokens,
	staleTokenRetry,
	VENDOR_TIMEOUT_MS,
} from "./common.js";
import type { MintedToken, SendOutcome, VendorChannelId } from "./types.js";

/** POSTs an OAuth2 token request and reads `access_token` / `expires_in`; errors name the OAuth error code only. */
/** RFC 6749 error codes: the only text from a token endpoint's body that an answer may repeat. */
const OAUTH_ERRORS = new Set([
	"invalid_request",
	"invalid_client",
	"invalid_grant",
	"unauthorized_client",
	"unsupported_grant_type",
	"invalid_scope",
]);

/**
 * The token endpoint's answer, as far as it may reach `GET /v1/credentials`: its status and a
 * standard (or numeric vendor) error code, never free text (a tenant-set URL must not make the
 * API a probe that reads other servers' bodies).
 */
function errorCodeOf(error: unknown): string {
	if (typeof error === "number" && Number.isInteger(error)) return ` ${error}`;
	if (typeof error === "string" && OAUTH_ERRORS.has(error)) return ` ${error}`;
	return "";
}

export async function exchangeForToken(
	vendor: string,
	url: string,
	form: URLSearchParams,
	fetchFn: typeof fetch,
): Promise<MintedToken> {
	const started = Date.now();
	let res: Response;
	try {
		res = await fetchFn(url, {
			method: "POST",
			signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
			headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
			body: form.toString(),
			// A redirect is an answer, not a hop to somewhere else.
			redirect: "manual",
		});
	} catch (err) {
		console.error(`${vendor} token endpoint ${url}: ${errorText(err)}`);
		throw new ChannelAuthError(`${vendor} token endpoint unreachable`, true);
	}
	if (res.status >= 300 && res.status < 400) {
		throw new ChannelAuthError(`${vendor} token endpoint answered ${res.status} (a redirect; not followed)`, false);
	}
	const json = (await readJson(res)) as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
	if (res.ok && typeof json?.access_token === "string") {
		const expiresIn = Number(json.expires_in);
		const seconds = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600;
		return { token: json.access_token, expiresAt: started + seconds * 1000 };
	}
	throw new ChannelAuthError(
		`${vendor} token endpoint answered ${res.status}${errorCodeOf(json?.error)}`,
		isTransientStatus(res.status) || res.ok,
	);
}

/** OAuth 2.0 client credentials (Huawei, Honor): grant_type=client_credentials with the client's id and secret. */
export function mintClientCredentials(
	vendor: string,
	tokenUrl: string,
	client: { client_id: string; client_secret: string },
	fetchFn: typeof fetch,
): Promise<MintedToken> {
	const form = new URLSearchParams({
		grant_type: "client_credentials",
		client_id: client.client_id,
		client_secret: client.client_secret,
	});
	return exchangeForToken(vendor, tokenUrl, form, fetchFn);
}

/**
 * POSTs a signed token request of a vendor's own scheme (OPPO, vivo): never follows a redirect, and a
 * network failure is a retryable ChannelAuthError naming only the vendor.
 */
export async function postTokenRequest(
	vendor: string,
	url: string,
	init: { headers: Record<string, string>; body: string },
	fetchFn: typeof fetch,
): Promise<Response> {
	try {
		return await fetchFn(url, { method: "POST", redirect: "manual", signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS), ...init });
	} catch {
		throw new ChannelAuthError(`${vendor} auth endpoint unreachable`, true);
	}
}

/** The vendor refused the OAuth access token; `reason` names the status and the vendor's code. */
export class AccessTokenRefused {
	constructor(readonly reason: string) {}
}

export interface AuthorisedPost {
	channel: VendorChannelId;
	url: string;
	/** JSON body. */
	body: string;
	/** Vendor headers; `authorization` and `content-type` are set here. */
	headers: Record<string, string>;
	tokens: SendTokens;
	fetch: typeof fetch;
}

/**
 * A JSON POST with the app's OAuth access token (FCM, HMS). `read` turns the answer (and its body,
 * read as JSON) into a result, or into `AccessTokenRefused`: then the token is refreshed once per
 * send call and the request is sent again; a second refusal rejects, and a cache with nothing newer
 * yet means retry later. `fail` turns an outcome of the exchange itself (no token, network, refusal)
 * into a result.
 */
export async function postWithAccessToken<T>(
	req: AuthorisedPost,
	read: (res: Response, json: unknown) => T | AccessTokenRefused,
	fail: (outcome: SendOutcome) => T,
): Promise<T> {
	// Called unbound: workerd refuses fetch invoked as a method of another object.
	const fetchFn = req.fetch;
	let access: string;
	try {
		access = await req.tokens.get();
	} catch (err) {
		return fail(authFailure(req.channel, err));
	}
	for (let attempt = 0; ; attempt++) {
		let res: Response;
		try {
			res = await fetchFn(req.url, {
				method: "POST",
				// Never followed: a 3xx is this endpoint's answer (a tenant-set URL must not lead elsewhere).
				redirect: "manual",
				signal: AbortSignal.timeout(VENDOR_TIMEOUT_MS),
				headers: { ...req.headers, authorization: `Bearer ${access}`, "content-type": "application/json; charset=utf-8" },
				body: req.body,
			});
		} catch (err) {
			return fail(networkRetry(req.channel, err));
		}
		const result = read(res, await readJson(res));
		if (!(result instanceof AccessTokenRefused)) return result;
		if (attempt > 0) return fail({ kind: "rejected", reason: `${result.reason} after a fresh access token` });
		let fresh: string | undefined;
		try {
			fresh = await req.tokens.refresh(access);
		} catch (err) {
			return fail(authFailure(req.channel, err));
		}
		if (!fresh) return fail(staleTokenRetry(req.channel, result.reason));
		access = fresh;
	}
}
