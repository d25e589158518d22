import { z } from "@hono/zod-openapi";
import { Id, JsonValue } from "./common.js";

export const MAX_ATTRIBUTES_BYTES = 16 * 1024;
export const MAX_TAGS_PER_USER = 1000;

const isTimeZone = (tz: string) => {
	try {
		new Intl.DateTimeFormat("en-US", { timeZone: tz });
		return true;
	} catch {
		return false;
	}
};

export const Locale = z
	.string()
	.regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$/, "must be a BCP 47 language tag such as zh-CN")
	.openapi({ example: "zh-CN" });
export const TimeZone = z
	.string()
	.max(64)
	.refine(isTimeZone, "must be an IANA time zone such as Asia/Shanghai")
	.openapi({ example: "Asia/Shanghai" });

export const UserIdParam = z.object({ userId: Id });

export const PutUserBody = z
	.strictObject({
		attributes: z
			.record(z.string().min(1).max(128), JsonValue)
			.optional()
			.openapi({ description: "Merged into the stored attributes; a null value deletes that attribute." }),
		locale: Locale.nullable().optional(),
		timezone: TimeZone.nullable().optional(),
	})
	.openapi("PutUserRequest", {
		example: { attributes: { plan: "gold", city: "Beijing" }, locale: "zh-CN", timezone: "Asia/Shanghai" },
	});

export const Platform = z.enum(["ios", "android", "web", "desktop", "iot"]);
export const Channel = z.enum(["ws", "apns", "fcm", "hms", "xiaomi", "webpush", "oppo", "vivo", "honor", "meizu"]);

export const WebPushSubscription = z.strictObject({
	endpoint: z.url({ protocol: /^https?$/ }).max(2048),
	expirationTime: z.number().nullable().optional(),
	keys: z.strictObject({
		p256dh: z.string().regex(/^[A-Za-z0-9_-]{80,100}={0,2}$/, "must be a base64url P-256 public key"),
		auth: z.string().regex(/^[A-Za-z0-9_-]{16,24}={0,2}$/, "must be a base64url 16-byte secret"),
	}),
});

export const CreateDeviceBody = z
	.strictObject({
		id: Id.optional(),
		platform: Platform,
		channel: Channel,
		token: z.string().min(1).max(4096).optional(),
		subscription: WebPushSubscription.optional(),
	})
	.superRefine((d, ctx) => {
		const vendorToken = d.channel !== "ws" && d.channel !== "webpush";
		if (vendorToken && !d.token) ctx.addIssue({ code: "custom", path: ["token"], message: `required for channel ${d.channel}` });
		if (!vendorToken && d.token) ctx.addIssue({ code: "custom", path: ["token"], message: `not used by channel ${d.channel}` });
		if (d.channel === "webpush" && !d.subscription)
			ctx.addIssue({ code: "custom", path: ["subscription"], message: "required for channel webpush" });
		if (d.channel !== "webpush" && d.subscription)
			ctx.addIssue({ code: "custom", path: ["subscription"], message: "only for channel webpush" });
	})
	.openapi("CreateDeviceRequest", { example: { platform: "ios", channel: "apns", token: "a1b2c3…" } });

export const Device = z
	.object({
		id: z.string(),
		platform: Platform,
		channel: Channel,
		token: z.string().nullable(),
		subscription: z.record(z.string(), z.unknown()).nullable(),
		status: z.enum(["active", "invalid", "disabled"]),
		last_error: z.string().nullable(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("Device");

export const User = z
	.object({
		id: z.string(),
		attributes: z.record(z.string(), z.unknown()),
		locale: z.string().nullable(),
		timezone: z.string().nullable(),
		tags: z.array(z.string()),
		devices: z.array(Device),
		online: z.number().int().openapi({ description: "Open WebSocket sessions of this user." }),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("User");

export const DeviceParam = UserIdParam.extend({ deviceId: Id });

export const CreateTokenBody = z
	.strictObject({
		ttl_seconds: z
			.number()
			.int()
			.min(60)
			.max(30 * 24 * 3600)
			.optional()
			.openapi({ description: "Default 3600, at most 30 days." }),
	})
	.openapi("CreateTokenRequest");

export const ClientToken = z.object({ token: z.string(), expires_at: z.string() }).openapi("ClientToken");

export const TokensRevoked = z
	.object({
		user_id: z.string(),
		revoked_before: z.string().openapi({ description: "Client tokens minted before this time are refused from now on." }),
	})
	.openapi("TokensRevoked");
