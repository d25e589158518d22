import type { Channel } from "../types.js";
import { buildHonorPayload, HONOR_MAX_PAYLOAD } from "./build.js";
import { type HonorCredentials, HonorCredentialsSchema, maskHonor } from "./credentials.js";
import { mintHonorToken } from "./mint.js";
import { HONOR_MAX_TOKENS, sendHonor } from "./send.js";

/** Honor Push: OAuth 2.0 client-credentials token from Honor IAM, Push Kit-like send API. */
export const honorChannel: Channel<HonorCredentials> = {
	id: "honor",
	credentialSchema: HonorCredentialsSchema,
	mask: maskHonor,
	maxPayloadBytes: HONOR_MAX_PAYLOAD,
	maxBatch: HONOR_MAX_TOKENS,
	build: (content, options) => buildHonorPayload(content, options),
	mintAccessToken: mintHonorToken,
	send: sendHonor,
};

export { buildHonorPayload } from "./build.js";
export { type HonorCredentials, HonorCredentialsSchema } from "./credentials.js";
export { mintHonorToken } from "./mint.js";
export { HONOR_CODES, HONOR_MAX_TOKENS, sendHonor } from "./send.js";
