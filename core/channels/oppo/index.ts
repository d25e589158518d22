import type { Channel } from "../types.js";
import { buildOppoPayload, OPPO_MAX_PAYLOAD } from "./build.js";
import { maskOppo, type OppoCredentials, OppoCredentialsSchema } from "./credentials.js";
import { mintOppoToken } from "./mint.js";
import { OPPO_MAX_BATCH, sendOppo } from "./send.js";

/** OPPO (incl. OnePlus, realme): auth_token from app_key + SHA-256 signature, valid 24 h. */
export const oppoChannel: Channel<OppoCredentials> = {
	id: "oppo",
	credentialSchema: OppoCredentialsSchema,
	mask: maskOppo,
	maxPayloadBytes: OPPO_MAX_PAYLOAD,
	maxBatch: OPPO_MAX_BATCH,
	build: buildOppoPayload,
	mintAccessToken: (c, e, f) => mintOppoToken(c, e, f),
	send: sendOppo,
};

export { buildOppoPayload } from "./build.js";
export { type OppoCredentials, OppoCredentialsSchema } from "./credentials.js";
export { mintOppoToken, OPPO_TOKEN_LIFETIME_MS, oppoSign } from "./mint.js";
export { OPPO_CODES, OPPO_MAX_BATCH, oppoHost, sendOppo } from "./send.js";
