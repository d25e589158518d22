import type { Channel } from "../types.js";
import { buildMeizuPayload, MEIZU_MAX_PAYLOAD } from "./build.js";
import { type MeizuCredentials, MeizuCredentialsSchema, maskMeizu } from "./credentials.js";
import { MEIZU_JOB_PUSH_IDS, sendMeizu } from "./send.js";

/** Meizu (Flyme): no access token; every request carries an MD5 signature made with the App Secret. */
export const meizuChannel: Channel<MeizuCredentials> = {
	id: "meizu",
	credentialSchema: MeizuCredentialsSchema,
	mask: maskMeizu,
	maxPayloadBytes: MEIZU_MAX_PAYLOAD,
	maxBatch: MEIZU_JOB_PUSH_IDS,
	build: (content, options) => buildMeizuPayload(content, options),
	send: sendMeizu,
};

export { buildMeizuPayload } from "./build.js";
export { type MeizuCredentials, MeizuCredentialsSchema } from "./credentials.js";
export { MEIZU_CODES, MEIZU_MAX_PUSH_IDS, meizuSign, sendMeizu } from "./send.js";
