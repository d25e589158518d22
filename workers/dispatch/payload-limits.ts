import type { MessageContent, MessageOptions } from "../../protocol/message.js";
import { channelFor } from "../channels/registry.js";
import type { VendorChannelId } from "../channels/types.js";
import { loadCredentials } from "../credentials/store.js";
import { AppError } from "../http/errors.js";
import { pushOptions } from "./push-spec.js";
import { configuredChannels } from "./targets.js";

/**
 * Renders the message for every vendor the app has configured and rejects it (413, channel named)
 * if any rendered payload is over that vendor's limit, before anything is stored or sent.
 */
export async function checkVendorPayloads(env: Env, appId: string, content: MessageContent, options: MessageOptions) {
	const configured = await configuredChannels(env, appId);
	if (configured.size === 0) return;
	const push = pushOptions("msg_00000000000000000000000000", options, Date.now() + (options.ttl_seconds ?? 86400) * 1000);
	const over: { channel: VendorChannelId; size: number; limit: number }[] = [];
	for (const channel of configured) {
		const impl = channelFor(channel);
		const creds = await loadCredentials<unknown>(env, appId, channel);
		if (!creds) continue;
		const rendered = impl.build(content, push, creds);
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
