/** Request and response bodies of the REST API (docs/api.md in the Warbler repository). Wire names, snake_case. */
import type {
	Audience,
	MessageContent,
	MessageCounts,
	MessageOptions,
	MessageStatus,
	RecipientDevice,
	RecipientStatus,
	RecipientView,
} from "../../../protocol/message.js";

export type {
	Audience,
	MessageContent,
	MessageCounts,
	MessageOptions,
	MessageStatus,
	RecipientDevice,
	RecipientStatus,
	RecipientView,
};

export type Plan = "free" | "standard" | "pro" | "enterprise";
export type Scope = "send" | "read" | "manage";
export type Platform = "ios" | "android" | "web" | "desktop" | "iot";
export type Channel = "ws" | "apns" | "fcm" | "hms" | "xiaomi" | "webpush" | "oppo" | "vivo" | "honor" | "meizu";

// --- apps (admin token) ---

export interface CreateAppInput {
	name: string;
	plan?: Plan;
}
export interface NewKey {
	id: string;
	name?: string;
	secret: string;
	scopes: Scope[];
	created_at?: string;
}
export interface KeyInfo {
	id: string;
	name: string;
	scopes: Scope[];
	created_at: string;
	revoked_at: string | null;
}
export interface CreatedApp {
	id: string;
	name: string;
	plan: Plan;
	created_at: string;
	/** The secret is shown only here. */
	key: NewKey;
}
export interface AppInfo {
	id: string;
	name: string;
	plan: Plan;
	created_at: string;
	keys?: KeyInfo[];
}
export interface CreateKeyInput {
	name: string;
	scopes?: Scope[];
}

// --- users, devices, tokens ---

export interface PutUserInput {
	/** Merged into the stored attributes; `null` deletes one. */
	attributes?: Record<string, unknown>;
	locale?: string | null;
	timezone?: string | null;
}
export interface Device {
	id: string;
	platform: Platform;
	channel: Channel;
	token: string | null;
	subscription: Record<string, unknown> | null;
	status?: "active" | "invalid" | "disabled";
	last_error?: string | null;
	created_at?: string;
	updated_at?: string;
}
export interface User {
	id: string;
	attributes: Record<string, unknown>;
	locale: string | null;
	timezone: string | null;
	tags: string[];
	devices: Device[];
	/** Open WebSocket sessions of this user. */
	online: number;
	created_at?: string;
	updated_at?: string;
}
export interface WebPushSubscription {
	endpoint: string;
	expirationTime?: number | null;
	keys: { p256dh: string; auth: string };
}
export interface CreateDeviceInput {
	/** Generated when absent. */
	id?: string;
	platform: Platform;
	channel: Channel;
	/** Vendor push token (apns, fcm, hms, xiaomi). */
	token?: string;
	/** For `channel: "webpush"`. */
	subscription?: WebPushSubscription;
}
export interface CreateTokenInput {
	/** Default 3600. */
	ttl_seconds?: number;
}
export interface ClientToken {
	token: string;
	expires_at: string;
}

export interface TokensRevoked {
	user_id: string;
	/** Client tokens minted before this time are refused. */
	revoked_before: string;
}

// --- tags ---

export interface TagChange {
	add?: string[];
	remove?: string[];
}
export interface PageQuery {
	cursor?: string;
	limit?: number;
}
export interface TagList {
	tags: { name: string; users: number }[];
	next_cursor: string | null;
}
export interface TagUsers {
	users: string[];
	next_cursor: string | null;
}

// --- messages ---

export interface SendMessageOptions extends MessageOptions {
	/** Vendor-channels issue: which channels to use. */
	channels?: "auto" | "ws" | "vendor" | "all";
	/** Data-only vendor push. */
	silent?: boolean;
}
export interface SendMessageInput {
	audience: Audience;
	content: MessageContent;
	options?: SendMessageOptions;
}
export interface MessageAccepted {
	id: string;
	status: "accepted";
	created_at: string;
	/** Added by the SDK: the idempotency key it sent (yours, or the one it generated). */
	idempotency_key: string;
}
export interface ChannelCounts {
	sent: number;
	failed: number;
	invalid_token: number;
}
export interface MessageView {
	id: string;
	status: MessageStatus;
	audience: Audience;
	content: MessageContent;
	options?: SendMessageOptions;
	created_at: string;
	expires_at?: string;
	counts: MessageCounts & { by_channel?: Record<string, ChannelCounts> };
}
export interface RecallResult {
	id: string;
	status: "recalled";
}
