import { checkWebPushEndpoint } from "../channels/webpush/endpoint.js";

/**
 * Where a webhook may point: the same outbound rules as Web Push endpoints (https, a public host,
 * no credentials in the URL), without Web Push's allow-list of push services. The local stack
 * (WARBLER_ENV=local or test) may also use http on 127.0.0.1/localhost, for a receiver on the machine.
 * Returns the reason the URL is refused, or null.
 */
export function checkWebhookUrl(url: string, env: { WARBLER_ENV?: string }): string | null {
	if (url.length > 2048) return "url is longer than 2,048 characters";
	const local = env.WARBLER_ENV === "local" || env.WARBLER_ENV === "test";
	const reason = checkWebPushEndpoint(url, local);
	return reason ? reason.replace(/^endpoint/, "url") : null;
}
