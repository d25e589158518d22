import type { Channel } from "../types.js";
import { buildHmsPayload, HMS_MAX_PAYLOAD } from "./build.js";
import { type HmsCredentials, HmsCredentialsSchema, maskHms } from "./credentials.js";
import { mintHmsToken } from "./mint.js";
import { HMS_MAX_TOKENS, sendHms } from "./send.js";

export const hmsChannel: Channel<HmsCredentials> = {
	id: "hms",
	credentialSchema: HmsCredentialsSchema,
	mask: maskHms,
	maxPayloadBytes: HMS_MAX_PAYLOAD,
	maxBatch: HMS_MAX_TOKENS,
	build: (content, options) => buildHmsPayload(content, options),
	mintAccessToken: mintHmsToken,
	send: sendHms,
};

export { buildHmsPayload } from "./build.js";
export { type HmsCredentials, HmsCredentialsSchema } from "./credentials.js";
export { mintHmsToken } from "./mint.js";
export { HMS_CODES, HMS_MAX_TOKENS, illegalTokens, sendHms } from "./send.js";
