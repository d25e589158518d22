import type { Channel } from "../types.js";
import { buildVivoPayload, VIVO_MAX_PAYLOAD } from "./build.js";
import { maskVivo, type VivoCredentials, VivoCredentialsSchema } from "./credentials.js";
import { mintVivoToken } from "./mint.js";
import { sendVivo, VIVO_MAX_BATCH } from "./send.js";

/** vivo (incl. iQOO): authToken from appId/appKey/timestamp + MD5 signature, valid 24 h. */
export const vivoChannel: Channel<VivoCredentials> = {
	id: "vivo",
	credentialSchema: VivoCredentialsSchema,
	mask: maskVivo,
	maxPayloadBytes: VIVO_MAX_PAYLOAD,
	maxBatch: VIVO_MAX_BATCH,
	build: (content, options) => buildVivoPayload(content, options),
	mintAccessToken: (c, e, f) => mintVivoToken(c, e, f),
	send: sendVivo,
};

export { buildVivoPayload, truncateWidth, vivoWidth } from "./build.js";
export { type VivoCredentials, VivoCredentialsSchema } from "./credentials.js";
export { mintVivoToken, VIVO_TOKEN_LIFETIME_MS, vivoSign } from "./mint.js";
export { sendVivo, VIVO_CODES, VIVO_MAX_BATCH } from "./send.js";
