/**
 * Small helpers shared by the vendor channels: byte sizes, the passthrough merge, the custom-data
 * map every vendor carries, TTLs, Retry-After, fingerprints. No state, no vendor knowledge.
 */
import { importPKCS8 } from "jose";
import type { MessageContent } from "../../protocol/message.js";
import { errorText } from "../util/errors.js";
import type { AccessTokens, PushOptions, SendOutcome, VendorChannelId } from "./types.js";

const encoder = new TextEncoder();

export function byteLength(text: string): number {
	return encoder.encode(text).byteLength;
}

export function jsonSize(value: unknown): number {
	return byteLength(JSON.stringify(value));
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Deep merge with JSON Merge Patch semantics (RFC 7396): objects merge key by key, anything else
 * (arrays included) replaces, and `null` removes the key. Returns a new object; inputs are untouched.
 */
export function deepMerge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = { ...target };
	for (const [key, value] of Object.entries(patch)) {
		if (UNSAFE_KEYS.has(key)) continue;
		if (value === null) {
			delete out[key];
		} else if (isPlainObject(value)) {
			const base = out[key];
			out[key] = deepMerge(isPlainObject(base) ? base : {}, value);
		} else {
			out[key] = value;
		}
	}
	return out;
}

/** The raw vendor options of a message: `content.apns`, `content.fcm`, … (the `_passthrough` of gorush/Novu). */
export function passthroughOf(content: MessageContent, vendor: VendorChannelId): Record<string, unknown> | undefined {
	const raw = (content as unknown as Record<string, unknown>)[vendor];
	return isPlainObject(raw) ? raw : undefined;
}

/**
 * The custom data every vendor carries beside the alert: the app's `content.data` keys, then
 * Warbler's own `message_id` and `url` (Warbler's keys win on a clash).
 */
export function customData(content: MessageContent, options: PushOptions): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	if (content.data) {
		for (const [key, value] of Object.entries(content.data)) {
			if (!UNSAFE_KEYS.has(key) && value !== undefined) out[key] = value;
		}
	}
	out.message_id = options.messageId;
	if (content.url) out.url = content.url;
	return out;
}

/** Vendors whose data is a map of strings (FCM): strings stay, anything else becomes JSON. */
export function stringValues(data: Record<string, unknown>): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [key, value] of Object.entries(data)) out[key] = typeof value === "string" ? value : JSON.stringify(value);
	return out;
}

/** The picture a notification may show: the image itself, or the thumbnail of a video/file. */
export function imageUrlOf(content: MessageContent): string | undefined {
	const media = content.media;
	if (!media) return undefined;
	const isImage = content.type === "image" || media.mime?.startsWith("image/") === true;
	return isImage ? media.url : media.thumbnail_url;
}

const TYPE_LABELS: Record<string, string> = {
	image: "Image",
	video: "Video",
	audio: "Audio message",
	file: "File",
};

/**
 * Title and body for vendors that require both on a notification (HMS, Xiaomi): a missing one
 * falls back to the other, then to a label for the content type.
 */
export function alertText(content: MessageContent): { title: string; body: string } {
	const label = TYPE_LABELS[content.type] ?? "New message";
	return { title: content.title || content.body || label, body: content.body || content.title || label };
}

/** Seconds left until the message expires, never negative. */
export function ttlSeconds(options: PushOptions): number {
	const now = options.now ?? Date.now();
	return Math.max(0, Math.floor((options.expiresAt - now) / 1000));
}

/** Truncates to at most `max` code points, with an ellipsis when cut. */
export function truncateChars(text: string, max: number): string {
	const chars = Array.from(text);
	return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** FNV-1a, 32 bits: a stable, synchronous hash for vendor ids derived from collapse keys. */
export function hash32(text: string): number {
	let h = 0x811c9dc5;
	for (const byte of encoder.encode(text)) {
		h ^= byte;
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h >>> 0;
}

/** `Retry-After` as seconds (delta-seconds or HTTP-date), or undefined. */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
	const raw = headers.get("retry-after")?.trim();
	if (!raw) return undefined;
	if (/^\d+$/.test(raw)) return Number(raw);
	const at = Date.parse(raw);
	if (Number.isNaN(at)) return undefined;
	return Math.max(0, Math.ceil((at - now) / 1000));
}

/** `sha256:` and the first 16 hex digits of the digest: enough to tell keys apart, nothing to recover. */
export async function fingerprint(secret: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
	let hex = "";
	for (const byte of digest.subarray(0, 8)) hex += byte.toString(16).padStart(2, "0");
	return `sha256:${hex}`;
}

/** PEM as pasted: a JSON-escaped `\n` becomes a newline, surrounding blanks go. */
export function normalizePem(pem: string): string {
	return pem.replace(/\\n/g, "\n").trim();
}

/** True when the PEM imports as a PKCS#8 private key for `alg` (ES256 needs P-256, RS256 an RSA key). */
export async function importsAsPkcs8(pem: string, alg: "ES256" | "RS256"): Promise<boolean> {
	try {
		await importPKCS8(normalizePem(pem), alg);
		return true;
	} catch {
		return false;
	}
}

export function base64UrlEncode(bytes: Uint8Array): string {
	let bin = "";
	for (const byte of bytes) bin += String.fromCharCode(byte);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
	const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
	const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

/** Reads a JSON body without throwing; undefined when there is none or it is not JSON. */
export async function readJson(res: Response): Promise<unknown> {
	try {
		const text = await res.text();
		return text ? JSON.parse(text) : undefined;
	} catch {
		return undefined;
	}
}

/**
 * A failure to mint a vendor access credential. `retryable: false` means the vendor refused the
 * credentials themselves (fix them, retrying will not help); the message names the vendor's error
 * code only, never a secret. The message carries "(permanent)" too, so the verdict survives an RPC
 * boundary that keeps only the message.
 */
export class ChannelAuthError extends Error {
	override name = "ChannelAuthError";
	constructor(
		message: string,
		readonly retryable: boolean,
	) {
		super(retryable ? message : `${message} (permanent)`);
	}
}

export function isPermanentAuthError(err: unknown): boolean {
	if (err instanceof ChannelAuthError) return !err.retryable;
	const e = err as { retryable?: unknown; message?: unknown } | null;
	if (e && e.retryable === false) return true;
	return typeof e?.message === "string" && e.message.endsWith("(permanent)");
}

/** The vendor refused the token and the cache had no newer one yet: try again later. */
export function staleTokenRetry(channel: VendorChannelId, reason: string): SendOutcome {
	return { kind: "retry", reason: `${reason}; no newer ${channel} access token yet` };
}

/** Outcome for every target when the access credential could not be had. */
export function authFailure(channel: VendorChannelId, err: unknown): SendOutcome {
	const message = errorText(err);
	return isPermanentAuthError(err)
		? { kind: "rejected", reason: `${channel} credentials refused: ${message}` }
		: { kind: "retry", reason: `${channel} access token unavailable: ${message}` };
}

/**
 * One access token per send call, refreshed at most once however many targets report it expired:
 * the first caller forces the refresh, the others reuse its result.
 */
export class SendTokens {
	#current: Promise<string> | undefined;
	#refreshed: Promise<string> | undefined;
	constructor(
		private readonly tokens: AccessTokens,
		private readonly channel: VendorChannelId,
	) {}

	get(): Promise<string> {
		this.#current ??= this.tokens.get(this.channel);
		return this.#current;
	}

	/**
	 * A token newer than `used`, forcing one refresh per send call; undefined when the cache has
	 * nothing newer yet (it may refuse refreshes in quick succession): retry the push later.
	 */
	async refresh(used: string): Promise<string | undefined> {
		if (!this.#refreshed) {
			this.#refreshed = this.tokens.get(this.channel, { forceRefresh: true });
			this.#current = this.#refreshed;
		}
		const fresh = await this.#refreshed;
		return fresh === used ? undefined : fresh;
	}
}

/**
 * Targets sent to at once per send call (with `mapBounded`). Workers allow six simultaneous
 * outbound connections per invocation, so more would only queue.
 */
export const VENDOR_CONCURRENCY = 6;

/** A vendor request that takes longer than this is abandoned and retried later. */
export const VENDOR_TIMEOUT_MS = 15_000;

/** A network failure or timeout talking to the vendor: always worth another try. */
export function networkRetry(channel: VendorChannelId, err: unknown): SendOutcome {
	const name = (err as { name?: unknown } | null)?.name;
	if (name === "TimeoutError" || name === "AbortError") return { kind: "retry", reason: `${channel} timed out` };
	return { kind: "retry", reason: `${channel} unreachable: ${errorText(err)}` };
}

/** HTTP statuses that recover on their own: rate limits and server trouble. */
export function isTransientStatus(status: number): boolean {
	return status === 429 || status >= 500;
}
