import type { VendorEndpoints } from "./types.js";

export const DEFAULT_ENDPOINTS = {
	apnsProduction: "https://api.push.apple.com",
	apnsSandbox: "https://api.sandbox.push.apple.com",
	fcm: "https://fcm.googleapis.com",
	hms: "https://push-api.cloud.huawei.com",
	hmsTokenUrl: "https://oauth-login.cloud.huawei.com/oauth2/v3/token",
	xiaomi: "https://api.xmpush.xiaomi.com",
	/** OPPO PUSH "调用地址": domestic and overseas hosts. */
	oppo: "https://api.push.oppomobile.com",
	oppoIntl: "https://api-intl.push.oppomobile.com",
	/** vivo push server API v2.9 "vivo服务器地址". */
	vivo: "https://api-push.vivo.com.cn",
	/** Honor Push "发送下行消息": send host and the IAM token endpoint. */
	honor: "https://push-api.cloud.hihonor.com",
	honorTokenUrl: "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token",
	/** Flyme push server API (MEIZUPUSH/node-sdk lib/request.js). */
	meizu: "https://api-push.meizu.com",
	/** Where a service account's own `token_uri` points when it has none. */
	googleTokenUri: "https://oauth2.googleapis.com/token",
} as const;

function trimSlash(url: string): string {
	return url.replace(/\/+$/, "");
}

/**
 * Vendor endpoints from deployment variables, defaulting to the real services. The local stack and
 * the tests point them at the simulator: APNS_ENDPOINT (both APNs environments), FCM_ENDPOINT,
 * FCM_TOKEN_URL (else each service account's token_uri), HMS_ENDPOINT, HMS_TOKEN_URL, XIAOMI_ENDPOINT,
 * OPPO_ENDPOINT, OPPO_INTL_ENDPOINT, VIVO_ENDPOINT, HONOR_ENDPOINT, HONOR_TOKEN_URL, MEIZU_ENDPOINT.
 */
export function vendorEndpoints(env: { WARBLER_ENV?: string }): VendorEndpoints {
	const vars = env as unknown as Record<string, string | undefined>;
	const pick = (name: string, fallback: string) => trimSlash(vars[name]?.trim() || fallback);
	const apns = vars.APNS_ENDPOINT?.trim();
	const fcmTokenUrl = vars.FCM_TOKEN_URL?.trim();
	const local = env.WARBLER_ENV === "local" || env.WARBLER_ENV === "test";
	// The local stack and the tests reach their own fake push services: no allow-list there.
	const webPushHosts = local ? undefined : webPushHostsFrom(vars.WEBPUSH_ALLOWED_HOSTS);
	return {
		apns: {
			production: trimSlash(apns || DEFAULT_ENDPOINTS.apnsProduction),
			sandbox: trimSlash(apns || DEFAULT_ENDPOINTS.apnsSandbox),
		},
		fcm: fcmTokenUrl
			? { send: pick("FCM_ENDPOINT", DEFAULT_ENDPOINTS.fcm), tokenUrl: fcmTokenUrl }
			: { send: pick("FCM_ENDPOINT", DEFAULT_ENDPOINTS.fcm) },
		hms: {
			send: pick("HMS_ENDPOINT", DEFAULT_ENDPOINTS.hms),
			tokenUrl: vars.HMS_TOKEN_URL?.trim() || DEFAULT_ENDPOINTS.hmsTokenUrl,
		},
		xiaomi: { send: pick("XIAOMI_ENDPOINT", DEFAULT_ENDPOINTS.xiaomi) },
		oppo: {
			send: pick("OPPO_ENDPOINT", DEFAULT_ENDPOINTS.oppo),
			intl: pick("OPPO_INTL_ENDPOINT", DEFAULT_ENDPOINTS.oppoIntl),
		},
		vivo: { send: pick("VIVO_ENDPOINT", DEFAULT_ENDPOINTS.vivo) },
		honor: {
			send: pick("HONOR_ENDPOINT", DEFAULT_ENDPOINTS.honor),
			tokenUrl: vars.HONOR_TOKEN_URL?.trim() || DEFAULT_ENDPOINTS.honorTokenUrl,
		},
		meizu: { send: pick("MEIZU_ENDPOINT", DEFAULT_ENDPOINTS.meizu) },
		allowLocalWebPush: local,
		...(webPushHosts ? { webPushHosts } : {}),
	};
}

/**
 * The push services of the browsers in use (Chrome/Edge/Opera through FCM, Firefox, Safari, Windows):
 * in production a subscription must point at one of them unless WEBPUSH_ALLOWED_HOSTS says otherwise.
 */
export const DEFAULT_WEBPUSH_HOSTS = [
	"fcm.googleapis.com",
	"android.googleapis.com",
	"push.services.mozilla.com",
	"push.apple.com",
	"notify.windows.com",
] as const;

function webPushHostsFrom(value: string | undefined): readonly string[] | undefined {
	const v = value?.trim();
	if (v === "*") return undefined;
	if (!v) return DEFAULT_WEBPUSH_HOSTS;
	return v
		.split(",")
		.map((h) =>
			h
				.trim()
				.toLowerCase()
				.replace(/^\*?\./, ""),
		)
		.filter(Boolean);
}
