import type { Channel } from "../types.js";
import { buildXiaomiPayload, XIAOMI_MAX_PAYLOAD } from "./build.js";
import { maskXiaomi, type XiaomiCredentials, XiaomiCredentialsSchema } from "./credentials.js";
import { sendXiaomi, XIAOMI_MAX_REGIDS } from "./send.js";

/** Xiaomi authenticates every request with the static app secret: nothing to mint. */
export const xiaomiChannel: Channel<XiaomiCredentials> = {
	id: "xiaomi",
	credentialSchema: XiaomiCredentialsSchema,
	mask: maskXiaomi,
	maxPayloadBytes: XIAOMI_MAX_PAYLOAD,
	maxBatch: XIAOMI_MAX_REGIDS,
	build: buildXiaomiPayload,
	send: sendXiaomi,
};

export { buildXiaomiPayload, xiaomiSize } from "./build.js";
export { type XiaomiCredentials, XiaomiCredentialsSchema } from "./credentials.js";
export { sendXiaomi, XIAOMI_CODES, XIAOMI_MAX_REGIDS } from "./send.js";
