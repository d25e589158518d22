import type { MessageContent, MessageOptions } from "../../protocol/message.js";
import { channelFor } from "../channels/registry.js";
import type { VendorChannelId } from "../channels/types.js";
import { cachedCredentialRows, unsealCredentials } from "../credentials/store.js";
import { AppError } from "../errors.js";
import { pushOptions } from "./push-spec.js";

/**
 * Renders the message for every vendor the app has configured and rejects it (413, channel named)
 * if any rendered payload is over that vendor's limit, before anything is stored or sent.
 */
export async function checkVendorPayloads(env: Env, appId: string, content: MessageContent, options: MessageOptions) {
	// Runs for each message that may reach a vendor: the configured channels come from the isolate's cache.
	const rows = await cachedCredentialRows(env, appId);
	if (rows.length === 0) return;
	const push = pushOptions("msg_00000000000000000000000000", options, Date.now() + (options.ttl_seconds ?? 86400) * 1000);
	const over: { channel: VendorChannelId; size: number; limit: number }[] = [];
	for (const row of rows) {
		const channel = row.channel;
		const impl = channelFor(channel);
		const rendered = impl.build(content, push, await unsealCredentials(env, row));
		if (rendered.size > impl.maxPayloadBytes) over.push({ channel, size: rendered.size, limit: impl.maxPayloadBytes });
	}
	if (over.length) {
		throw new AppError(
			"payload_too_large",
			`The rendered push is over the limit of ${over.map((o) => o.channel).join(", ")}.`,
			over.map((o) => ({ path: "content", message: `${o.channel}: ${o.size} bytes; the limit is ${o.limit}` })),
		);
	}
}
