/** WebCrypto helpers: hashing, constant-time comparison, random ids, AES-GCM secrets at rest. */
import { jsonCodec } from "../util/json-codec.js";

const encoder = new TextEncoder();

export async function sha256(text: string): Promise<Uint8Array> {
	return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

export function toHex(bytes: Uint8Array): string {
	let out = "";
	for (const b of bytes) out += b.toString(16).padStart(2, "0");
	return out;
}

export function toBase64Url(bytes: Uint8Array): string {
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
	const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
	const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * Compares two secrets without leaking where they differ. Both sides are hashed first so the
 * comparison also hides their lengths.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
	const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
	return crypto.subtle.timingSafeEqual(ha, hb);
}

export function randomBytes(n: number): Uint8Array {
	return crypto.getRandomValues(new Uint8Array(n));
}

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

/** A random id like `app_5k2x…`: `bytes` random bytes in base32. */
export function randomId(prefix: string, bytes = 12): string {
	let out = "";
	for (const b of randomBytes(bytes)) out += ALPHABET[b & 31];
	return `${prefix}_${out}`;
}

/**
 * Time-ordered id (48-bit millisecond time + 80 random bits, base32): message ids sort by creation,
 * which keeps D1's primary-key index append-mostly.
 */
export function timeOrderedId(prefix: string, now = Date.now()): string {
	let rand = "";
	for (const b of randomBytes(16)) rand += ALPHABET[b & 31];
	return `${timeIdPrefix(prefix, now)}${rand}`;
}

/** The part of every time-ordered id made at `ms`: ids made in [a, b) sort in [prefix(a), prefix(b)). */
export function timeIdPrefix(prefix: string, ms: number): string {
	let time = "";
	let t = Math.max(0, Math.floor(ms));
	for (let i = 0; i < 10; i++) {
		time = ALPHABET[t % 32] + time;
		t = Math.floor(t / 32);
	}
	return `${prefix}_${time}`;
}

/** When a time-ordered id was made (epoch ms); NaN for anything else. */
export function timeOfId(id: string): number {
	const start = id.indexOf("_") + 1;
	if (start === 0 || id.length < start + 10) return Number.NaN;
	let t = 0;
	for (let i = start; i < start + 10; i++) {
		const v = ALPHABET.indexOf(id[i] ?? "");
		if (v < 0) return Number.NaN;
		t = t * 32 + v;
	}
	return t;
}

/** Secrets at rest: AES-256-GCM with a random 96-bit IV. The key version is stored beside the data. */
export interface SealedSecret {
	v: number;
	iv: string;
	ct: string;
}

/** How a sealed secret is stored: the JSON of its `SealedSecret`. */
export const SealedJson = jsonCodec<SealedSecret>();

async function importKey(keyMaterial: string): Promise<CryptoKey> {
	const raw = fromBase64Url(keyMaterial);
	if (raw.length !== 32) throw new Error("ENCRYPTION_KEY must be 32 bytes, base64url");
	return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function seal(plaintext: string, keyMaterial: string, version = 1): Promise<string> {
	const iv = randomBytes(12);
	const key = await importKey(keyMaterial);
	const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(plaintext)));
	return SealedJson.stringify({ v: version, iv: toBase64Url(iv), ct: toBase64Url(ct) });
}

export async function unseal(sealedJson: string, keyMaterial: string): Promise<string> {
	const sealed = SealedJson.parse(sealedJson);
	const key = await importKey(keyMaterial);
	const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64Url(sealed.iv) }, key, fromBase64Url(sealed.ct));
	return new TextDecoder().decode(pt);
}
