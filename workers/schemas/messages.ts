import { z } from "@hono/zod-openapi";
import { AudienceSchema, Content, Options } from "../../core/messages/schema.js";
import { Id } from "./common.js";
import { Funnel } from "./message-log.js";

export {
	AudienceSchema,
	Content,
	DEFAULT_TTL_SECONDS,
	MAX_AUDIENCE_USERS,
	MAX_CONTENT_BYTES,
	MAX_TTL_SECONDS,
	Options,
	SendMessageBody,
	type StoredOptions,
} from "../../core/messages/schema.js";

export const Accepted = z
	.object({ id: z.string(), status: z.literal("accepted"), created_at: z.string() })
	.openapi("MessageAccepted");

const ChannelCount = z.object({
	sent: z.number().int(),
	failed: z.number().int(),
	invalid_token: z.number().int(),
	quota_exceeded: z
		.number()
		.int()
		.openapi({ description: "Not sent: over the vendor's daily quota or allowed hours (Warbler's or the vendor's own answer)." }),
	delivered: z.number().int().optional().openapi({
		description: "Devices whose arrival the vendor reported (OPPO, HMS, Xiaomi, Meizu receipts); absent until a receipt came.",
	}),
	clicked: z
		.number()
		.int()
		.optional()
		.openapi({ description: "Devices whose click the vendor reported; present with `delivered`." }),
});

export const Counts = z.object({
	targeted: z.number().int(),
	delivered: z.number().int(),
	acked: z.number().int(),
	opened: z.number().int(),
	clicked: z.number().int(),
	failed: z.number().int(),
	expired: z.number().int(),
	capped: z.number().int().openapi({ description: "Recipients over the app's frequency cap." }),
	dropped: z.number().int().openapi({ description: "Recipients in quiet hours with action drop." }),
	by_channel: z.record(z.string(), ChannelCount).openapi({ description: "Vendor outcomes per channel (apns, fcm, …)." }),
});

export const MessageView = z
	.object({
		id: z.string(),
		status: z.enum(["accepted", "fanning_out", "done", "recalled"]),
		audience: AudienceSchema,
		content: Content,
		options: Options,
		created_at: z.string(),
		expires_at: z.string(),
		counts: Counts,
		funnel: Funnel.optional(),
	})
	.openapi("Message");

export const RecipientViewSchema = z
	.object({
		user_id: z.string(),
		status: z.enum(["queued", "delivered", "acked", "opened", "expired", "failed", "recalled", "capped", "dropped"]),
		delivered_at: z.string().optional(),
		acked_at: z.string().optional(),
		opened_at: z.string().optional(),
		clicked_at: z.string().optional(),
		devices: z
			.array(
				z.object({
					device_id: z.string(),
					channel: z.string(),
					outcome: z.enum(["sent", "failed", "invalid_token", "quota_exceeded"]),
					reason: z.string().nullable(),
					at: z.string(),
					delivered_at: z
						.string()
						.optional()
						.openapi({ description: "When the vendor reported arrival on the device (receipts)." }),
					clicked_at: z.string().optional().openapi({ description: "When the vendor reported a click (receipts)." }),
				}),
			)
			.openapi({ description: "Each vendor device's outcome for this message." }),
	})
	.openapi("Recipient");

export const MessageIdParam = z.object({ id: Id });
export const RecipientParam = MessageIdParam.extend({ userId: Id });
