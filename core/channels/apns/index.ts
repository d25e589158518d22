import type { Channel } from "../types.js";
import { APNS_MAX_PAYLOAD, buildApnsPayload } from "./build.js";
import { type ApnsCredentials, ApnsCredentialsSchema, maskApns } from "./credentials.js";
import { mintApnsToken } from "./mint.js";
import { sendApns } from "./send.js";

export const apnsChannel: Channel<ApnsCredentials> = {
	id: "apns",
	credentialSchema: ApnsCredentialsSchema,
	mask: maskApns,
	maxPayloadBytes: APNS_MAX_PAYLOAD,
	// One request per token; the batch only bounds how much one queue message carries.
	maxBatch: 100,
	build: buildApnsPayload,
	mintAccessToken: (credentials) => mintApnsToken(credentials),
	send: sendApns,
};

export { apnsCollapseId, buildApnsPayload } from "./build.js";
export { type ApnsCredentials, ApnsCredentialsSchema } from "./credentials.js";
export { mintApnsToken } from "./mint.js";
export { classifyApns, sendApns } from "./send.js";
