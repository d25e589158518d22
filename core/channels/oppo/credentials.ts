import { z } from "../../zod.js";
import { fingerprint } from "../common.js";

/** A channel id created in the vendor console, per Warbler category (or class). */
export const ChannelIds = z
	.record(
		z.string().regex(/^[a-z_]{1,32}$/, "must be a Warbler category such as transactional, marketing, im, order"),
		z.string().min(1).max(64),
	)
	.refine((m) => Object.keys(m).length <= 32, "at most 32 entries")
	.openapi({
		description:
			'Channel ids registered in the vendor console, per category: {"transactional": "…", "marketing": "…", "im": "…"}.',
		example: { transactional: "order_updates", marketing: "promotions" },
	});

/** OPPO PUSH platform → 配置管理 → 应用配置: AppKey and MasterSecret (AppSecret is for the client SDK). */
export const OppoCredentialsSchema = z
	.object({
		app_key: z
			.string()
			.regex(/^[A-Za-z0-9_-]{1,128}$/, "must be the AppKey from the OPPO PUSH console")
			.openapi({ example: "b4Ab2cD7e8f9A0b1" }),
		master_secret: z
			.string()
			.min(1)
			.max(512)
			.openapi({ description: "MasterSecret from the OPPO PUSH console (server side). Never returned." }),
		channel_ids: ChannelIds.optional(),
	})
	.openapi("OppoCredentials");

export type OppoCredentials = z.infer<typeof OppoCredentialsSchema>;

export async function maskOppo(c: OppoCredentials): Promise<Record<string, string>> {
	return { app_key: c.app_key, master_secret: await fingerprint(c.master_secret) };
}
