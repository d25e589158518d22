import { randomBytes } from "../auth/crypto.js";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of
 * random bytes; the signature is `v1,` + base64 HMAC-SHA256, keyed with those bytes, of
 * `<webhook-id>.<webhook-timestamp>.<body>`. Several signatures are space-separated.
 */
const PREFIX = "whsec_";

export function newWebhookSecret(): string {
	return PREFIX + toBase64(randomBytes(32));
}

export async function signatureFor(secret: string, id: string, timestamp: number, body: string): Promise<string> {
	const keyBytes = fromBase64(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret);
	const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
	return `v1,${toBase64(new Uint8Array(mac))}`;
}

export interface SignedHeaders {
	"webhook-id": string;
	"webhook-timestamp": string;
	"webhook-signature": string;
}

/** The three headers of one attempt; `secrets` are the current one and, during a rotation, the previous. */
export async function signedHeaders(
	secrets: readonly string[],
	id: string,
	timestamp: number,
	body: string,
): Promise<SignedHeaders> {
	const sigs = await Promise.all(secrets.map((s) => signatureFor(s, id, timestamp, body)));
	return {
		"webhook-id": id,
		"webhook-timestamp": String(timestamp),
		"webhook-signature": sigs.join(" "),
	};
}

function toBase64(bytes: Uint8Array): string {
	let s = "";
	for (const b of bytes) s += String.fromCharCode(b);
	return btoa(s);
}

function fromBase64(text: string): Uint8Array {
	const bin = atob(text);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}
