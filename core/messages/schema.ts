/** What a message is made of: the shape the API, schedules and automations all send. */

import { Id, JsonValue } from "../json.js";
import { Filter } from "../rules/filter.js";
import { expressionProblems, hasExpressions, type TemplateBody, TemplateVariables } from "../rules/templates.js";
import { z } from "../zod.js";
import { checkContentShape } from "./content-shape.js";

export const MAX_CONTENT_BYTES = 64 * 1024;
export const MAX_AUDIENCE_USERS = 1000;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
export const DEFAULT_TTL_SECONDS = 24 * 3600;
const MAX_TAGS_PER_RULE = 20;

const HttpsUrl = z.url({ protocol: /^https$/ }).max(2048);
/** Click targets may be app deep links (myapp://…), never script. */
const ClickUrl = z
	.url()
	.max(2048)
	.refine((u) => !/^(javascript|data|vbscript|file):/i.test(u), "this URL scheme is not allowed");

const Media = z.strictObject({
	url: HttpsUrl,
	mime: z
		.string()
		.regex(/^[a-z]+\/[A-Za-z0-9.+-]{1,100}$/, "must be a MIME type such as image/png")
		.optional(),
	size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
	width: z.number().int().min(1).max(100_000).optional(),
	height: z.number().int().min(1).max(100_000).optional(),
	duration_ms: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
	thumbnail_url: HttpsUrl.optional(),
});

/** Raw vendor fields merged into that vendor's payload (e.g. `content.apns.aps.sound`). */
const VendorPassthrough = z
	.record(z.string(), JsonValue)
	.openapi({ description: "Passed through into this vendor's payload, merged over what Warbler renders." });

export const Content = z
	.strictObject({
		type: z.enum(["text", "image", "video", "audio", "file", "custom"]),
		title: z.string().max(1024).optional(),
		// A body this long is over the content limit whatever else it holds: 413 before anything scans it.
		body: z
			.string()
			.refine((s) => s.length <= MAX_CONTENT_BYTES, {
				message: `over the 64 KiB content limit (${MAX_CONTENT_BYTES} characters at most)`,
				params: { status: 413 },
				abort: true,
			})
			.optional()
			.openapi({ description: "At most 65,536 characters; counts toward the 64 KiB content limit (413 past either)." }),
		media: Media.optional(),
		url: ClickUrl.optional(),
		data: z.record(z.string(), JsonValue).optional(),
		apns: VendorPassthrough.optional(),
		fcm: VendorPassthrough.optional(),
		hms: VendorPassthrough.optional(),
		xiaomi: VendorPassthrough.optional(),
		webpush: VendorPassthrough.optional(),
		oppo: VendorPassthrough.optional(),
		vivo: VendorPassthrough.optional(),
		honor: VendorPassthrough.optional(),
		meizu: VendorPassthrough.optional(),
	})
	.superRefine((c, ctx) => {
		checkContentShape(c, ctx);
	})
	.openapi("Content");

const TagRule = z.array(Id).min(1).max(MAX_TAGS_PER_RULE);

export const AudienceSchema = z
	.union([
		z.strictObject({ users: z.array(Id).min(1).max(MAX_AUDIENCE_USERS) }),
		z.strictObject({
			tags: z
				.strictObject({ any: TagRule.optional(), all: TagRule.optional(), none: TagRule.optional() })
				.refine((t) => t.any || t.all || t.none, "name at least one of any, all, none"),
			filter: Filter.optional(),
		}),
		z.strictObject({ all: z.literal(true), filter: Filter.optional() }),
		z.strictObject({ filter: Filter }),
	])
	.openapi("Audience");

export const Options = z
	.strictObject({
		ttl_seconds: z.number().int().min(1).max(MAX_TTL_SECONDS).optional().openapi({ description: "Default 86400." }),
		priority: z.enum(["high", "normal"]).optional(),
		collapse_key: Id.optional(),
		idempotency_key: z.string().min(1).max(255).optional(),
		channels: z
			.enum(["auto", "ws", "vendor", "all"])
			.optional()
			.openapi({
				description:
					"auto (default): WebSocket when a device is connected, vendors when none is or none acks within the app's window; " +
					"ws: WebSocket/inbox only; vendor: vendors now (the in-app copy waits in the inbox for the next connect); all: both now.",
			}),
		silent: z.boolean().optional().openapi({ description: "Data-only vendor push: no alert; wakes the app." }),
		category: z
			.string()
			.regex(/^[A-Za-z0-9_.:@-]{1,64}$/, "must be 1–64 characters of [A-Za-z0-9_.:@-]")
			.optional()
			.openapi({ description: "For per-category frequency caps; `transactional` bypasses caps and quiet hours." }),
		respect_quiet_hours: z.boolean().optional().openapi({ description: "Default true." }),
		send_at_optimal: z
			.strictObject({
				within_hours: z.number().int().min(1).max(168),
				fallback_local_time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM"),
			})
			.optional()
			.openapi({
				description:
					"Hold the message in each recipient's inbox until their best hour (from their opens and clicks) within " +
					"within_hours, else fallback_local_time in their zone.",
			}),
		throttle_per_minute: z
			.number()
			.int()
			.min(100)
			.max(10_000_000)
			.optional()
			.openapi({ description: "Spread a tag/all broadcast's fan-out at this many recipients per minute." }),
	})
	.openapi("MessageOptions");

export type StoredOptions = z.infer<typeof Options>;
/** An audience as validated: what `messages.audience` holds (a `users` list without repeats). */
export type StoredAudience = z.infer<typeof AudienceSchema>;
/** Content as validated: what `messages.content` holds. */
export type StoredContent = z.infer<typeof Content>;

/** Content as sent: its {{…}}, if any, must be variables a template could use (they render per recipient). */
const SentContent = Content.superRefine((c, ctx) => {
	if (!hasExpressions(c)) return;
	for (const p of expressionProblems(c)) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
});

export const SendMessageBody = z
	.strictObject({
		audience: AudienceSchema,
		content: SentContent.optional().openapi({
			description:
				"The message; or name a template_id instead. {{…}} in its strings render per recipient like a template's (\\{{ for literal braces).",
		}),
		template_id: z
			.string()
			.regex(/^[A-Za-z0-9_]{1,64}$/, "not a template id")
			.optional()
			.openapi({ description: "Render this template per recipient (their locale and attributes) instead of content." }),
		variables: TemplateVariables.optional().openapi({ description: "The template's {{vars.…}}." }),
		options: Options.optional(),
	})
	.openapi("SendMessageRequest", {
		example: {
			audience: { users: ["u1"] },
			content: { type: "text", title: "Hello", body: "Your order shipped" },
			options: { ttl_seconds: 3600, idempotency_key: "order-42-shipped" },
		},
	});

/** A `POST /v1/messages` body as validated (also what a schedule stores). */
export type SendBody = z.infer<typeof SendMessageBody>;

/** A template message's snapshot: rendered per recipient at delivery. */
export interface StoredTemplate {
	id: string;
	definition: TemplateBody;
	variables: Record<string, unknown>;
	/** The triggering event, for automation messages. */
	event?: { name: string; properties?: Record<string, unknown> };
}
