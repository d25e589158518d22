/** Message shapes shared by the API, the inbox, and both SDKs (types only: no runtime dependency). */
export type ContentType = "text" | "image" | "video" | "audio" | "file" | "custom";

export interface MediaInfo {
	url: string;
	mime?: string;
	size?: number;
	width?: number;
	height?: number;
	duration_ms?: number;
	thumbnail_url?: string;
}

export interface MessageContent {
	type: ContentType;
	title?: string;
	body?: string;
	media?: MediaInfo;
	url?: string;
	data?: Record<string, unknown>;
	/** Raw vendor fields merged into that vendor's payload. */
	apns?: Record<string, unknown>;
	fcm?: Record<string, unknown>;
	hms?: Record<string, unknown>;
	xiaomi?: Record<string, unknown>;
	webpush?: Record<string, unknown>;
	oppo?: Record<string, unknown>;
	vivo?: Record<string, unknown>;
	honor?: Record<string, unknown>;
	meizu?: Record<string, unknown>;
}

/** A condition tree on user attributes (see the AudienceFilter schema); opaque to clients. */
export type AudienceFilter = Record<string, unknown>;

export type Audience =
	| { users: string[] }
	| { tags: { any?: string[]; all?: string[]; none?: string[] }; filter?: AudienceFilter }
	| { all: true; filter?: AudienceFilter }
	| { filter: AudienceFilter };

export interface MessageOptions {
	ttl_seconds?: number;
	priority?: "high" | "normal";
	collapse_key?: string;
	idempotency_key?: string;
	channels?: DeliveryChannels;
	silent?: boolean;
	category?: string;
	respect_quiet_hours?: boolean;
	throttle_per_minute?: number;
	send_at_optimal?: { within_hours: number; fallback_local_time: string };
}

export type DeliveryChannels = "auto" | "ws" | "vendor" | "all";

export type MessageStatus = "accepted" | "fanning_out" | "done" | "recalled";

export interface MessageCounts {
	targeted: number;
	delivered: number;
	acked: number;
	opened: number;
	clicked: number;
	failed: number;
	expired: number;
	capped: number;
	dropped: number;
}

export type RecipientStatus =
	| "queued"
	| "delivered"
	| "acked"
	| "opened"
	| "expired"
	| "failed"
	| "recalled"
	/** Over the app's frequency cap for this user: never sent. */
	| "capped"
	/** Arrived in the user's quiet hours with action drop: never sent. */
	| "dropped";

/** A vendor device's final outcome for one message (APNs, FCM, …). */
export interface RecipientDevice {
	device_id: string;
	channel: string;
	outcome: "sent" | "failed" | "invalid_token" | "quota_exceeded";
	reason: string | null;
	at: string;
	/** When the vendor reported arrival on the device (OPPO / HMS receipts). */
	delivered_at?: string;
	/** When the vendor reported a click on the notification. */
	clicked_at?: string;
}

/** Where one recipient stands with a message (`GET /v1/messages/{id}/recipients/{userId}`). */
export interface RecipientView {
	user_id: string;
	status: RecipientStatus;
	delivered_at?: string;
	acked_at?: string;
	opened_at?: string;
	clicked_at?: string;
	/** Each vendor device's outcome for this message (empty when none was pushed to). */
	devices: RecipientDevice[];
}
