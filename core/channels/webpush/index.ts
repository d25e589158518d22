import type { Channel } from "../types.js";
import { buildWebPushPayload, WEBPUSH_MAX_PAYLOAD } from "./build.js";
import { completeWebPushCredentials, maskWebPush, type WebPushCredentials, WebPushCredentialsSchema } from "./credentials.js";
import { sendWebPush } from "./send.js";

/** VAPID JWTs are signed per push-service origin inside send(): nothing to mint or cache per app. */
export const webPushChannel: Channel<WebPushCredentials> = {
	id: "webpush",
	credentialSchema: WebPushCredentialsSchema,
	completeCredentials: completeWebPushCredentials,
	mask: maskWebPush,
	maxPayloadBytes: WEBPUSH_MAX_PAYLOAD,
	maxBatch: 100,
	build: (content, options) => buildWebPushPayload(content, options),
	send: sendWebPush,
};

export { buildWebPushPayload, WEBPUSH_MAX_PAYLOAD, webPushTopic } from "./build.js";
export {
	completeWebPushCredentials,
	isVapidPair,
	type StoredWebPushCredentials,
	type WebPushCredentials,
	WebPushCredentialsSchema,
} from "./credentials.js";
export { checkWebPushEndpoint } from "./endpoint.js";
export { classifyWebPush, sendWebPush } from "./send.js";
