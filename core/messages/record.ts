import { and, eq } from "drizzle-orm";
import type { DeliveryChannels, MessageContent, MessageOptions } from "../../protocol/message.js";
import { db } from "../db/client.js";
import { apps, messages } from "../db/schema.js";
import type { DeliveryPolicy } from "../inbox/types.js";
import { type AppSettings, type EffectiveSettings, loadSettings } from "../rules/settings.js";
import type { StoredTemplate } from "./schema.js";

/** What an inbox needs to store a message, loaded once per job from D1. */
export interface DeliverySpec {
	appId: string;
	messageId: string;
	content: MessageContent;
	sentAt: string;
	expiresAt: number;
	collapseKey?: string;
	cap: number;
	channels: DeliveryChannels;
	/** channels=auto only. */
	fallbackAfterMs?: number;
	/** The app's rules for the inboxes, without the user's zone (added per recipient). */
	policy?: Omit<DeliveryPolicy, "timeZone">;
	/** The zone for users who have none. */
	defaultTimeZone: string;
	/** Whether each recipient's zone must be looked up (quiet hours). */
	needsZones: boolean;
	/** Set for template messages: `content` is then only the preview. */
	template?: StoredTemplate;
	/** False for `users` audiences: their counts are read from the recipients' inboxes, not tallied. */
	tally: boolean;
	/** The app's shards when the message was loaded. */
	shardCount: number;
	/** `options.category`: statistics group by it. */
	category?: string;
}

export async function loadDeliverySpec(env: Env, appId: string, messageId: string): Promise<DeliverySpec | undefined> {
	const d = db(env);
	const [row, app] = await Promise.all([
		d
			.select()
			.from(messages)
			.where(and(eq(messages.appId, appId), eq(messages.id, messageId)))
			.get(),
		d.select({ settings: apps.settings, shardCount: apps.shardCount }).from(apps).where(eq(apps.id, appId)).get(),
	]);
	if (!row || !app) return undefined;
	return deliverySpec(appId, messageId, row.content, row.options, {
		sentAt: row.createdAt,
		expiresAt: Date.parse(row.expiresAt),
		settings: app.settings,
		template: row.template ?? undefined,
		direct: row.isDirect,
		shardCount: app.shardCount,
	});
}

export function deliverySpec(
	appId: string,
	messageId: string,
	content: MessageContent,
	options: MessageOptions,
	at: {
		sentAt: string;
		expiresAt: number;
		settings: AppSettings;
		template?: StoredTemplate;
		direct: boolean;
		shardCount: number;
	},
): DeliverySpec {
	const settings = loadSettings(at.settings);
	const channels = options.channels ?? "auto";
	return {
		appId,
		messageId,
		content,
		sentAt: at.sentAt,
		expiresAt: at.expiresAt,
		collapseKey: options.collapse_key,
		cap: settings.inbox_cap,
		channels,
		fallbackAfterMs: channels === "auto" ? settings.vendor_fallback_ms : undefined,
		policy: policyOf(settings, options, channels),
		defaultTimeZone: settings.default_timezone,
		needsZones: settings.quiet_hours !== undefined || options.send_at_optimal !== undefined,
		template: at.template,
		tally: !at.direct,
		shardCount: at.shardCount,
		category: options.category,
	};
}

/** Only messages that some rule applies to carry a policy: the common case stays free of it. */
function policyOf(settings: EffectiveSettings, options: MessageOptions, channels: DeliveryChannels): DeliverySpec["policy"] {
	const caps = settings.frequency_caps;
	const optimal = options.send_at_optimal;
	if (caps.length === 0 && !settings.quiet_hours && !optimal) return undefined;
	return {
		category: options.category,
		respectQuietHours: options.respect_quiet_hours ?? true,
		caps,
		quietHours: settings.quiet_hours,
		channels,
		...(optimal ? { optimal: { withinHours: optimal.within_hours, fallbackLocalTime: optimal.fallback_local_time } } : {}),
	};
}
