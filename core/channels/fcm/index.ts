import type { Channel } from "../types.js";
import { buildFcmPayload, FCM_MAX_PAYLOAD } from "./build.js";
import { type FcmCredentials, FcmCredentialsSchema, maskFcm } from "./credentials.js";
import { mintFcmToken } from "./mint.js";
import { sendFcm } from "./send.js";

export const fcmChannel: Channel<FcmCredentials> = {
	id: "fcm",
	credentialSchema: FcmCredentialsSchema,
	mask: maskFcm,
	maxPayloadBytes: FCM_MAX_PAYLOAD,
	// HTTP v1 takes one token per request; the batch only bounds how much one queue message carries.
	maxBatch: 100,
	build: (content, options) => buildFcmPayload(content, options),
	mintAccessToken: mintFcmToken,
	send: sendFcm,
};

export { buildFcmPayload } from "./build.js";
export { type FcmCredentials, FcmCredentialsSchema } from "./credentials.js";
export { FCM_SCOPE, fcmAssertion, mintFcmToken } from "./mint.js";
export { classifyFcm, sendFcm } from "./send.js";
