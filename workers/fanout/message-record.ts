import { and, eq } from "drizzle-orm";
import type { MessageContent } from "../../protocol/message.js";
import { db } from "../db/client.js";
import { apps, messages } from "../db/schema.js";

export const DEFAULT_INBOX_CAP = 1000;

/** What an inbox needs to store a message, loaded once per job from D1. */
export interface DeliverySpec {
	appId: string;
	messageId: string;
	content: MessageContent;
	sentAt: string;
	expiresAt: number;
	collapseKey?: string;
	cap: number;
}

export async function loadDeliverySpec(env: Env, appId: string, messageId: string): Promise<DeliverySpec | undefined> {
	const d = db(env);
	const [row, app] = await Promise.all([
		d
			.select()
			.from(messages)
			.where(and(eq(messages.appId, appId), eq(messages.id, messageId)))
			.get(),
		d.select({ settings: apps.settings }).from(apps).where(eq(apps.id, appId)).get(),
	]);
	if (!row || !app) return undefined;
	const options = JSON.parse(row.options) as { collapse_key?: string };
	return {
		appId,
		messageId,
		content: JSON.parse(row.content) as MessageContent,
		sentAt: row.createdAt,
		expiresAt: Date.parse(row.expiresAt),
		collapseKey: options.collapse_key,
		cap: inboxCap(app.settings),
	};
}

export function inboxCap(settingsJson: string): number {
	const settings = JSON.parse(settingsJson) as { inbox_cap?: number };
	return settings.inbox_cap ?? DEFAULT_INBOX_CAP;
}
