/**
 * One interface for every vendor push channel (APNs, FCM, HMS, Xiaomi, Web Push). Each vendor lives
 * in its own folder: a credential schema (zod), a pure payload builder, and a sender that returns
 * one outcome per target. Nothing here holds state across apps.
 */

import type { MessageContent } from "../../protocol/message.js";
import type { z } from "../zod.js";

export type VendorChannelId = "apns" | "fcm" | "hms" | "xiaomi" | "webpush" | "oppo" | "vivo" | "honor" | "meizu";

/** Options of a message that shape vendor payloads. */
export interface PushOptions {
	messageId: string;
	priority: "high" | "normal";
	/** Epoch ms when the message stops being worth delivering. */
	expiresAt: number;
	collapseKey?: string;
	/** Data-only push: no alert, wakes the app (APNs background / content-available, FCM data-only, …). */
	silent: boolean;
	/** Alert sound; "default" when absent (ignored for silent pushes). */
	sound?: string;
	/** App icon badge count where the vendor has one (APNs badge, FCM notification_count, Web Push badge). */
	badge?: number;
	/** Notification group / thread (APNs thread-id, HMS group). */
	group?: string;
	/**
	 * The message's `options.category` (`transactional`, `marketing`, or a finer vendor category such as
	 * `im`, `order`, `news`): mapped per vendor by `core/channels/category.ts`. Absent: the app's default.
	 */
	category?: string;
	/** Epoch ms the payload is rendered at, for relative TTLs (defaults to Date.now(); set it in tests). */
	now?: number;
	/**
	 * Where the vendor posts delivery/click receipts (core/receipts/token.ts), when the deployment has
	 * PUBLIC_BASE_URL and the vendor has per-message receipts; builders without receipts ignore it.
	 */
	receiptUrl?: string;
	/** HMS: receipts are configured in AppGallery Connect, a message only tags itself (bi_tag). */
	receipts?: boolean;
}

/** A Web Push subscription as the browser gives it (`PushSubscription.toJSON()`), stored on the device. */
export type WebPushSubscriptionJson = {
	endpoint: string;
	expirationTime?: number | null;
	keys: { p256dh: string; auth: string };
};

/** One device to push to. */
export interface PushTarget {
	userId: string;
	deviceId: string;
	/** Vendor device token (APNs, FCM, HMS, Xiaomi). */
	token?: string;
	/** Web Push subscription. */
	subscription?: WebPushSubscriptionJson;
}

/** What a vendor said about one target. */
export type SendOutcome =
	| { kind: "ok"; vendorId?: string }
	/** Transient: try again, not before `afterSeconds` when the vendor said so (Retry-After). */
	| { kind: "retry"; afterSeconds?: number; reason: string }
	/** The token or subscription is gone for good: disable the device. */
	| { kind: "invalid_token"; reason: string }
	/** The vendor refused this push (bad payload, auth, …); retrying as is will not help. */
	| { kind: "rejected"; reason: string }
	/**
	 * The vendor's daily quota for this app (or this device) is spent (OPPO 33, vivo 10070/10252, …):
	 * counted `quota_exceeded`, not retried today; the in-app copy still waits in the inbox.
	 */
	| { kind: "quota_exceeded"; reason: string };

/** Where each vendor lives; defaults are the real services, the local stack points them at the simulator. */
export interface VendorEndpoints {
	apns: { production: string; sandbox: string };
	fcm: { send: string; tokenUrl?: string };
	hms: { send: string; tokenUrl: string };
	xiaomi: { send: string };
	/** OPPO: domestic and international API hosts (a registration id's region picks one). */
	oppo: { send: string; intl: string };
	vivo: { send: string };
	honor: { send: string; tokenUrl: string };
	meizu: { send: string };
	/** Allow http://127.0.0.1 / localhost Web Push endpoints (local stack only). */
	allowLocalWebPush: boolean;
	/**
	 * Web Push services a subscription may point at (host suffixes), in production; undefined: any
	 * public host. WEBPUSH_ALLOWED_HOSTS sets them ("*" for any); the default is the browsers' services.
	 */
	webPushHosts?: readonly string[];
}

/** Hands out vendor access credentials (APNs provider JWT, FCM/HMS OAuth tokens), cached and shared per app. */
export interface AccessTokens {
	get(channel: VendorChannelId, opts?: { forceRefresh?: boolean }): Promise<string>;
}

export interface SendContext<Cred> {
	credentials: Cred;
	endpoints: VendorEndpoints;
	tokens: AccessTokens;
	fetch: typeof fetch;
}

/** A rendered push: the exact body a vendor gets (before per-target fields and encryption). */
export interface RenderedPush {
	/** JSON body (or form fields for Xiaomi) without the target token. */
	body: Record<string, unknown>;
	/** Vendor headers derived from options (APNs apns-* headers, Web Push TTL/Urgency/Topic). */
	headers: Record<string, string>;
	/** Size in bytes that counts against the vendor's payload limit. */
	size: number;
}

/** A vendor access credential and when to stop using it (refresh a little before). */
export interface MintedToken {
	token: string;
	/** Epoch ms after which the token must not be used; the cache refreshes shortly before. */
	expiresAt: number;
}

export interface Channel<Cred = unknown> {
	id: VendorChannelId;
	/** zod schema of `PUT /v1/credentials/{channel}`; drives validation and the docs. */
	credentialSchema: z.ZodType<Cred>;
	/**
	 * Turns validated input into the stored form (Web Push generates its VAPID key pair when the
	 * body has none). Call it after `credentialSchema` and before sealing; absent = store as is.
	 */
	completeCredentials?(input: Cred): Promise<Cred>;
	/** Masked view of stored credentials: ids and fingerprints, never a secret. */
	mask(credentials: Cred): Promise<Record<string, string>>;
	/** Vendor limit on the rendered payload, in bytes. */
	maxPayloadBytes: number;
	/** Most targets one send call may take (HMS and Xiaomi batch up to 1,000 tokens per request). */
	maxBatch: number;
	/** Pure: content + options (+ credentials for topic/package names) → the vendor's documented payload. */
	build(content: MessageContent, options: PushOptions, credentials: Cred): RenderedPush;
	/**
	 * Mints the vendor access credential: APNs provider JWT (ES256; valid 50 min so refreshes fall
	 * between Apple's 20 and 60 minute bounds), FCM OAuth2 token from a service-account RS256
	 * assertion, HMS OAuth2 client-credentials token. Absent for Xiaomi (static app secret) and Web
	 * Push (VAPID JWT per endpoint origin, signed in send()).
	 */
	mintAccessToken?(credentials: Cred, endpoints: VendorEndpoints, fetchFn: typeof fetch): Promise<MintedToken>;
	/** Sends one rendered push to targets; one outcome per target, in order. Never throws for vendor errors. */
	send(push: RenderedPush, targets: PushTarget[], ctx: SendContext<Cred>): Promise<SendOutcome[]>;
}
