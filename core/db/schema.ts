/**
 * D1 schema (drizzle). Every table but `apps` carries `app_id` first in its primary key, so every
 * query is scoped by app and tenant data never interleaves in an index.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Scope } from "../auth/caller.js";
import type { AutomationDefinition } from "../automations/schema.js";
import type { WebPushSubscriptionJson } from "../channels/types.js";
import type { ChannelCounts } from "../ledger/types.js";
import type { SendBody, StoredAudience, StoredContent, StoredOptions, StoredTemplate } from "../messages/schema.js";
import type { PlanLimits } from "../plans/limits.js";
import type { AppSettings } from "../rules/settings.js";
import type { TemplateBody } from "../rules/templates.js";
import type { When } from "../rules/when.js";

/**
 * JSON columns are `text` in SQLite; drizzle's json mode writes them with JSON.stringify and reads
 * them with JSON.parse, so each is typed once, here, and nowhere else parses it.
 */
const json = <T>(name: string) => text(name, { mode: "json" }).$type<T>();

export const apps = sqliteTable("apps", {
	id: text("id").primaryKey(),
	name: text("name").notNull(),
	plan: text("plan", { enum: ["free", "standard", "pro", "enterprise"] }).notNull(),
	/** Per-app HS256 secret for client tokens, AES-GCM sealed under ENCRYPTION_KEY. */
	tokenSecret: text("token_secret").notNull(),
	/** The signing secret's number: tokens name it in their `kid` header (`k<n>`); a token without one is `k1`. */
	tokenKid: integer("token_kid").notNull().default(1),
	/** After a rotation, the secret before it (sealed), its number, and until when its tokens still verify. */
	previousTokenSecret: text("previous_token_secret"),
	previousTokenKid: integer("previous_token_kid"),
	previousTokenUntil: integer("previous_token_until"),
	/** JSON object of per-app settings (inbox cap, …). */
	settings: json<AppSettings>("settings").notNull().default({}),
	/** How many shards (Durable Objects of users' inboxes and sockets) the app has: a power of two. */
	shardCount: integer("shard_count").notNull().default(1),
	/** The plan whose limits apply (`plans.id`); null: no plan, only the hard safety limits (docs/api.md: Plans and quotas). */
	planId: text("plan_id"),
	createdAt: text("created_at").notNull(),
});

export const apiKeys = sqliteTable(
	"api_keys",
	{
		id: text("id").primaryKey(),
		appId: text("app_id")
			.notNull()
			.references(() => apps.id),
		name: text("name").notNull(),
		/** JSON array of scopes. */
		scopes: json<Scope[]>("scopes").notNull(),
		/** SHA-256 of the whole secret, hex. The secret itself is never stored. */
		secretHash: text("secret_hash").notNull(),
		createdAt: text("created_at").notNull(),
		revokedAt: text("revoked_at"),
	},
	(t) => [index("api_keys_app").on(t.appId)],
);

export const users = sqliteTable(
	"users",
	{
		appId: text("app_id").notNull(),
		id: text("id").notNull(),
		attributes: json<Record<string, unknown>>("attributes").notNull().default({}),
		locale: text("locale"),
		timezone: text("timezone"),
		createdAt: text("created_at").notNull(),
		updatedAt: text("updated_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.id] }), index("users_timezone").on(t.appId, t.timezone)],
);

export const devices = sqliteTable(
	"devices",
	{
		appId: text("app_id").notNull(),
		userId: text("user_id").notNull(),
		id: text("id").notNull(),
		platform: text("platform", { enum: ["ios", "android", "web", "desktop", "iot"] }).notNull(),
		channel: text("channel", {
			enum: ["ws", "apns", "fcm", "hms", "xiaomi", "webpush", "oppo", "vivo", "honor", "meizu"],
		}).notNull(),
		token: text("token"),
		/** Web Push subscription JSON `{endpoint, keys: {p256dh, auth}}`. */
		subscription: json<WebPushSubscriptionJson>("subscription"),
		status: text("status", { enum: ["active", "invalid", "disabled"] })
			.notNull()
			.default("active"),
		lastError: text("last_error"),
		createdAt: text("created_at").notNull(),
		updatedAt: text("updated_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.userId, t.id] })],
);

/**
 * Tag membership. The primary key (app_id, tag, user_id) is the index the fan-out pages in key
 * order; the second index answers "which tags has this user".
 */
export const userTags = sqliteTable(
	"user_tags",
	{
		appId: text("app_id").notNull(),
		tag: text("tag").notNull(),
		userId: text("user_id").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.tag, t.userId] }), index("user_tags_user").on(t.appId, t.userId)],
);

export const auditLog = sqliteTable(
	"audit_log",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		appId: text("app_id"),
		/** "admin" or the API key id that acted. */
		actor: text("actor").notNull(),
		action: text("action").notNull(),
		target: text("target"),
		at: text("at").notNull(),
	},
	(t) => [index("audit_log_app").on(t.appId, t.id)],
);

/**
 * One row per accepted message: what it is and to whom. Live status and counts are kept by the
 * message's ledger Durable Object, so deliveries never write to this row.
 */
/**
 * Accepted messages. Migration 0007 makes the table WITHOUT ROWID (drizzle cannot say so): keyed by
 * (app_id, id) itself, an insert writes one row, not a row and a separate primary-key index entry.
 */
export const messages = sqliteTable(
	"messages",
	{
		appId: text("app_id").notNull(),
		id: text("id").notNull(),
		audience: json<StoredAudience>("audience").notNull(),
		content: json<StoredContent>("content").notNull(),
		options: json<StoredOptions>("options").notNull(),
		idempotencyKey: text("idempotency_key"),
		/** SHA-256 of the canonical request body: a reused idempotency key must bring the same body. */
		bodyHash: text("body_hash").notNull(),
		createdAt: text("created_at").notNull(),
		expiresAt: text("expires_at").notNull(),
		/** For template messages: `{id, definition, variables}` as sent (later edits do not change it). */
		template: json<StoredTemplate>("template"),
		/** A `users` audience: counts are read from the recipients' inboxes, not tallied by a ledger. */
		isDirect: integer("is_direct", { mode: "boolean" }).notNull().default(false),
		/** Broadcasts: when every shard had it (the fan-out's end); null while it may need a re-drive. */
		fanoutDoneAt: text("fanout_done_at"),
		/** What sent it when not the API: a schedule or an automation, with its id (the message log filters on it). */
		sourceKind: text("source_kind", { enum: ["schedule", "automation"] }),
		sourceId: text("source_id"),
		/** When it was recalled (the message log's status filter reads it; the ledger is the authority). */
		recalledAt: text("recalled_at"),
	},
	(t) => [
		primaryKey({ columns: [t.appId, t.id] }),
		uniqueIndex("messages_idempotency").on(t.appId, t.idempotencyKey).where(sql`idempotency_key IS NOT NULL`),
	],
);

/**
 * The part of a message's counts that its ledger holds (vendor outcomes by channel, recipients the
 * fan-out could not reach), copied here by the ledger after it changes: statistics read one row per
 * message instead of waking every ledger. `rev` grows with every copy; an older one never wins.
 */
export const messageLedgerStats = sqliteTable(
	"message_ledger_stats",
	{
		appId: text("app_id").notNull(),
		messageId: text("message_id").notNull(),
		rev: integer("rev").notNull(),
		failed: integer("failed").notNull(),
		byChannel: json<ChannelCounts>("by_channel").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.messageId] })],
);

/**
 * Vendor credentials per app and channel. `sealed` is the credential JSON under AES-256-GCM with
 * ENCRYPTION_KEY (`key_version` says which key); `masked` is the only view any answer shows.
 */
export const credentials = sqliteTable(
	"credentials",
	{
		appId: text("app_id").notNull(),
		channel: text("channel", {
			enum: ["apns", "fcm", "hms", "xiaomi", "webpush", "oppo", "vivo", "honor", "meizu"],
		}).notNull(),
		sealed: text("sealed").notNull(),
		keyVersion: integer("key_version").notNull(),
		masked: json<Record<string, string>>("masked").notNull(),
		status: text("status", { enum: ["active", "error"] })
			.notNull()
			.default("active"),
		configuredAt: text("configured_at").notNull(),
		tokenRefreshedAt: text("token_refreshed_at"),
		tokenExpiresAt: text("token_expires_at"),
		lastError: text("last_error"),
	},
	(t) => [primaryKey({ columns: [t.appId, t.channel] })],
);

/** Planned pushes. `message` is a POST /v1/messages body; `when` says at, cron, local_time or optimal. */
export const schedules = sqliteTable(
	"schedules",
	{
		appId: text("app_id").notNull(),
		id: text("id").notNull(),
		message: json<SendBody>("message").notNull(),
		when: json<When>("when").notNull(),
		status: text("status", { enum: ["active", "paused", "done", "canceled"] }).notNull(),
		/** Occurrences later than this many seconds are skipped and recorded as missed, not sent. */
		maxLatenessSeconds: integer("max_lateness_seconds").notNull(),
		nextRunAt: text("next_run_at"),
		runCount: integer("run_count").notNull().default(0),
		createdAt: text("created_at").notNull(),
		updatedAt: text("updated_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.id] }), index("schedules_due").on(t.status, t.nextRunAt)],
);

/** One row per occurrence: (schedule, occurrence time) is the idempotency key of a run. */
export const scheduleRuns = sqliteTable(
	"schedule_runs",
	{
		appId: text("app_id").notNull(),
		scheduleId: text("schedule_id").notNull(),
		occurrence: text("occurrence").notNull(),
		messageId: text("message_id"),
		/** "sent", or "missed" when it was later than the schedule allows. */
		outcome: text("outcome").notNull(),
		firedAt: text("fired_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.scheduleId, t.occurrence] })],
);

export const automations = sqliteTable(
	"automations",
	{
		appId: text("app_id").notNull(),
		id: text("id").notNull(),
		name: text("name").notNull(),
		/** Event name that triggers it, indexed: events find their automations without a scan. */
		triggerEvent: text("trigger_event").notNull(),
		/** The whole definition (trigger.where, delay, cancel_on, message, once_per_user…). */
		definition: json<AutomationDefinition>("definition").notNull(),
		enabled: integer("enabled", { mode: "boolean" }).notNull(),
		createdAt: text("created_at").notNull(),
		updatedAt: text("updated_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.id] }), index("automations_trigger").on(t.appId, t.triggerEvent)],
);

export const templates = sqliteTable(
	"templates",
	{
		appId: text("app_id").notNull(),
		id: text("id").notNull(),
		name: text("name").notNull(),
		definition: json<TemplateBody>("definition").notNull(),
		createdAt: text("created_at").notNull(),
		updatedAt: text("updated_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.id] })],
);

/**
 * Client event ids seen in the last 24 hours (`POST /v1/events` with `id`): a retried event changes
 * nothing and triggers nothing. Rows older than a day are swept by the minute cron.
 */
export const eventIds = sqliteTable(
	"event_ids",
	{
		appId: text("app_id").notNull(),
		id: text("id").notNull(),
		/** Epoch ms. */
		seenAt: integer("seen_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.id] }), index("event_ids_seen").on(t.seenAt)],
);

/**
 * Webhook endpoints (Standard Webhooks). The signing secret is sealed like credentials; after a
 * rotation the previous one stays valid until `previous_secret_until` (each delivery signs with both).
 */
export const webhookEndpoints = sqliteTable(
	"webhook_endpoints",
	{
		appId: text("app_id").notNull(),
		id: text("id").notNull(),
		url: text("url").notNull(),
		description: text("description"),
		events: json<string[]>("events").notNull(),
		enabled: integer("enabled", { mode: "boolean" }).notNull(),
		/** Why Warbler disabled it (a 410, days of failures); null when enabled or disabled by the app. */
		disabledReason: text("disabled_reason"),
		secret: text("secret").notNull(),
		previousSecret: text("previous_secret"),
		/** Epoch ms. */
		previousSecretUntil: integer("previous_secret_until"),
		/** Epoch ms of the first failure since the last success; null while healthy. */
		failingSince: integer("failing_since"),
		/** Events in a row whose every attempt failed. */
		exhaustedStreak: integer("exhausted_streak").notNull().default(0),
		createdAt: text("created_at").notNull(),
		updatedAt: text("updated_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.appId, t.id] })],
);

/** One event to one endpoint: its body (signed as is on every attempt), attempts and outcome. */
export const webhookDeliveries = sqliteTable(
	"webhook_deliveries",
	{
		appId: text("app_id").notNull(),
		/** Time-ordered, so newest first is an index walk. */
		id: text("id").notNull(),
		endpointId: text("endpoint_id").notNull(),
		/** The `webhook-id` header: the same on every retry and replay. */
		eventId: text("event_id").notNull(),
		eventType: text("event_type").notNull(),
		body: text("body").notNull(),
		attempts: integer("attempts").notNull().default(0),
		status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
		lastResponseStatus: integer("last_response_status"),
		lastError: text("last_error"),
		/** Epoch ms; null once finished. */
		nextAttemptAt: integer("next_attempt_at"),
		/** Epoch ms. */
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
	},
	(t) => [
		primaryKey({ columns: [t.appId, t.id] }),
		index("webhook_deliveries_endpoint").on(t.appId, t.endpointId, t.id),
		index("webhook_deliveries_created").on(t.createdAt),
	],
);

/** Webhook HTTP attempts per app per UTC day, for usage (the delivery log itself is pruned). */
export const webhookUsage = sqliteTable(
	"webhook_usage",
	{
		appId: text("app_id").notNull(),
		/** YYYY-MM-DD (UTC). */
		day: text("day").notNull(),
		attempts: integer("attempts").notNull().default(0),
	},
	(t) => [primaryKey({ columns: [t.appId, t.day] })],
);

/**
 * Web console sessions (POST /v1/console/session). The browser holds only the random session id in an
 * HttpOnly cookie; this row keeps its SHA-256, who signed in and until when. An app-key session names
 * its key, so the key's scopes and revocation apply on every request.
 */
export const consoleSessions = sqliteTable(
	"console_sessions",
	{
		/** SHA-256 of the session id, hex. */
		idHash: text("id_hash").primaryKey(),
		kind: text("kind", { enum: ["admin", "app"] }).notNull(),
		/** The key's app for an app-key session; null for the admin. */
		appId: text("app_id"),
		/** The app key of an app-key session; for the admin, a fingerprint of the admin token it was made with. */
		keyId: text("key_id"),
		createdAt: text("created_at").notNull(),
		/** Epoch ms. */
		expiresAt: integer("expires_at").notNull(),
	},
	(t) => [index("console_sessions_expires").on(t.expiresAt)],
);

/**
 * Plans as data (POST /v1/admin/plans): named sets of limits an app is put on with
 * PUT /v1/admin/apps/{id}/plan. A limit left out is no limit (core/plans/limits.ts).
 */
export const plans = sqliteTable("plans", {
	id: text("id").primaryKey(),
	name: text("name").notNull(),
	limits: json<PlanLimits>("limits").notNull(),
	createdAt: text("created_at").notNull(),
	updatedAt: text("updated_at").notNull(),
});
