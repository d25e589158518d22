/**
 * The credential of a vendor receipt URL (`/v1/receipts/<channel>/<appId>/<token>`): vendors post
 * receipts unsigned (OPPO, Xiaomi, Meizu, vivo) or with a header secret of the app owner's own
 * choosing (HMS), so the URL itself carries an HMAC over `channel/appId` keyed by the deployment's
 * ENCRYPTION_KEY. Only this deployment can mint it; it never changes for an app and channel, so a
 * vendor console (HMS AppGallery Connect) can keep it. During a key rotation
 * ENCRYPTION_KEY_PREVIOUS still verifies.
 */

/** Channels whose receipts Warbler accepts (docs/api.md "Vendor receipts"; sources in core/receipts/parse.ts). */
export const RECEIPT_CHANNELS = ["oppo", "hms", "xiaomi", "meizu", "vivo"] as const;
export type ReceiptChannel = (typeof RECEIPT_CHANNELS)[number];

export function isReceiptChannel(channel: string): channel is ReceiptChannel {
	return (RECEIPT_CHANNELS as readonly string[]).includes(channel);
}

export interface ReceiptKeys {
	ENCRYPTION_KEY: string;
	ENCRYPTION_KEY_PREVIOUS?: string;
	/** e.g. https://push.example.com; unset: no receipts are requested. */
	PUBLIC_BASE_URL?: string;
}

const encoder = new TextEncoder();

async function mac(key: string, channel: string, appId: string): Promise<string> {
	const k = await crypto.subtle.importKey(
		"raw",
		encoder.encode(`warbler-receipts:${key}`),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const sig = new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(`${channel}/${appId}`)));
	// 24 bytes (192 bits) in base64url: 32 characters, short enough for OPPO's 200-character URL limit.
	let bin = "";
	for (const b of sig.subarray(0, 24)) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function receiptToken(env: ReceiptKeys, channel: string, appId: string): Promise<string> {
	return mac(env.ENCRYPTION_KEY, channel, appId);
}

/** Constant-time comparison (the length of a token is public: always 32). */
function sameText(a: string, b: string): boolean {
	const x = encoder.encode(a);
	const y = encoder.encode(b);
	let diff = x.length ^ y.length;
	for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
	return diff === 0;
}

/** Whether `token` is this deployment's token for the app and channel (current key, else the previous one). */
export async function verifyReceiptToken(env: ReceiptKeys, channel: string, appId: string, token: string): Promise<boolean> {
	const current = sameText(await mac(env.ENCRYPTION_KEY, channel, appId), token);
	const previous = env.ENCRYPTION_KEY_PREVIOUS ? sameText(await mac(env.ENCRYPTION_KEY_PREVIOUS, channel, appId), token) : false;
	return current || previous;
}

/** The receipt URL for an app and channel, or undefined when PUBLIC_BASE_URL is unset or the channel has no receipts. */
export async function receiptUrl(env: ReceiptKeys, channel: string, appId: string): Promise<string | undefined> {
	const base = env.PUBLIC_BASE_URL?.trim().replace(/\/+$/, "");
	if (!base || !isReceiptChannel(channel)) return undefined;
	return `${base}/v1/receipts/${channel}/${encodeURIComponent(appId)}/${await receiptToken(env, channel, appId)}`;
}
