import { and, eq } from "drizzle-orm";
import type { MessageContent } from "../../protocol/message.js";
import type { PushOptions } from "../channels/types.js";
import { db } from "../db/client.js";
import { messages } from "../db/schema.js";
import type { StoredOptions, StoredTemplate } from "../messages/schema.js";

export interface PushSpec {
	content: MessageContent;
	options: PushOptions;
	expiresAt: number;
	/** Template messages render per recipient. */
	template?: StoredTemplate;
}

export function pushOptions(messageId: string, options: StoredOptions, expiresAt: number): PushOptions {
	return {
		messageId,
		priority: options.priority ?? "normal",
		expiresAt,
		collapseKey: options.collapse_key,
		silent: options.silent ?? false,
		...(options.category ? { category: options.category } : {}),
	};
}

export async function loadPushSpec(env: Env, appId: string, messageId: string): Promise<PushSpec | undefined> {
	const row = await db(env)
		.select()
		.from(messages)
		.where(and(eq(messages.appId, appId), eq(messages.id, messageId)))
		.get();
	if (!row) return undefined;
	const expiresAt = Date.parse(row.expiresAt);
	return {
		content: row.content,
		options: pushOptions(messageId, row.options, expiresAt),
		expiresAt,
		template: row.template ?? undefined,
	};
}
