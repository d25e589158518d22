import { z } from "../../zod.js";
import { base64UrlDecode, base64UrlEncode, fingerprint } from "../common.js";

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodes(text: string, length: number, first?: number): boolean {
	if (!BASE64URL.test(text)) return false;
	try {
		const bytes = base64UrlDecode(text);
		return bytes.byteLength === length && (first === undefined || bytes[0] === first);
	} catch {
		return false;
	}
}

export const WebPushCredentialsSchema = z
	.object({
		subject: z
			.string()
			.max(512)
			.regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/, 'must be "mailto:<address>" or an "https://" URL')
			.openapi({
				description: "VAPID contact (RFC 8292 `sub`): a mailto: address or an https: URL.",
				example: "mailto:ops@example.com",
			}),
		public_key: z
			.string()
			.refine((k) => decodes(k, 65, 0x04), "must be base64url of the 65-byte uncompressed P-256 point")
			.optional()
			.openapi({ description: "VAPID public key (applicationServerKey). Generated with private_key when both are absent." }),
		private_key: z
			.string()
			.refine((k) => decodes(k, 32), "must be base64url of the 32-byte P-256 private scalar")
			.optional()
			.openapi({ description: "VAPID private key. Never returned." }),
	})
	.superRefine(async (c, ctx) => {
		if ((c.public_key === undefined) !== (c.private_key === undefined)) {
			ctx.addIssue({
				code: "custom",
				path: [c.public_key ? "private_key" : "public_key"],
				message: "give both VAPID keys or neither",
			});
			return;
		}
		if (c.public_key && c.private_key && decodes(c.public_key, 65, 0x04) && decodes(c.private_key, 32)) {
			if (!(await isVapidPair(c.public_key, c.private_key))) {
				ctx.addIssue({ code: "custom", path: ["private_key"], message: "does not match public_key" });
			}
		}
	})
	.openapi("WebPushCredentials");

export type WebPushCredentials = z.infer<typeof WebPushCredentialsSchema>;
/** What is stored: both keys always present. */
export type StoredWebPushCredentials = Required<WebPushCredentials>;

/** JWK of the VAPID key pair, for signing (ES256). */
export function vapidJwk(publicKey: string, privateKey: string): JsonWebKey {
	const point = base64UrlDecode(publicKey);
	return {
		kty: "EC",
		crv: "P-256",
		x: base64UrlEncode(point.subarray(1, 33)),
		y: base64UrlEncode(point.subarray(33, 65)),
		d: privateKey,
	};
}

/** True when the private key signs what the public key verifies. */
export async function isVapidPair(publicKey: string, privateKey: string): Promise<boolean> {
	try {
		const algo = { name: "ECDSA", namedCurve: "P-256" };
		const signing = await crypto.subtle.importKey("jwk", vapidJwk(publicKey, privateKey), algo, false, ["sign"]);
		const verifying = await crypto.subtle.importKey("raw", base64UrlDecode(publicKey), algo, false, ["verify"]);
		const probe = new TextEncoder().encode("warbler vapid pair check");
		const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signing, probe);
		return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, verifying, signature, probe);
	} catch {
		return false;
	}
}

/**
 * The stored form of Web Push credentials: the given key pair, or a fresh P-256 VAPID pair made
 * with WebCrypto (public_key = base64url of the 65-byte uncompressed point, private_key = base64url d).
 */
export async function completeWebPushCredentials(input: WebPushCredentials): Promise<StoredWebPushCredentials> {
	if (input.public_key && input.private_key) {
		return { subject: input.subject, public_key: input.public_key, private_key: input.private_key };
	}
	const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
	const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
	if (!jwk.d) throw new Error("WebCrypto exported a P-256 private key without d");
	return { subject: input.subject, public_key: base64UrlEncode(raw), private_key: jwk.d };
}

export async function maskWebPush(c: WebPushCredentials): Promise<Record<string, string>> {
	const out: Record<string, string> = { subject: c.subject };
	// The public key is public by design (browsers need it to subscribe).
	if (c.public_key) out.public_key = c.public_key;
	if (c.private_key) out.private_key = await fingerprint(c.private_key);
	return out;
}
