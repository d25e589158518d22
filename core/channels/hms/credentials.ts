import { z } from "../../zod.js";
import { fingerprint } from "../common.js";

export const HmsCredentialsSchema = z
	.object({
		app_id: z
			.string()
			.regex(/^[0-9]{1,32}$/, "must be the numeric App ID from AppGallery Connect")
			.openapi({ example: "104123456" }),
		client_id: z
			.string()
			.regex(/^[0-9]{1,32}$/, "must be the numeric OAuth 2.0 client ID (usually the App ID)")
			.openapi({ example: "104123456" }),
		client_secret: z
			.string()
			.min(1)
			.max(512)
			.openapi({ description: "OAuth 2.0 client secret (App Secret) from AppGallery Connect. Never returned." }),
	})
	.openapi("HmsCredentials");

export type HmsCredentials = z.infer<typeof HmsCredentialsSchema>;

export async function maskHms(c: HmsCredentials): Promise<Record<string, string>> {
	return { app_id: c.app_id, client_id: c.client_id, client_secret: await fingerprint(c.client_secret) };
}
