import { z } from "../../zod.js";
import { fingerprint } from "../common.js";

/** Honor developer console → the app's Push service: App ID, Client ID and Client Secret. */
export const HonorCredentialsSchema = z
	.object({
		app_id: z
			.string()
			.regex(/^[0-9]{1,32}$/, "must be the numeric App ID from the Honor developer console")
			.openapi({ example: "104412345" }),
		client_id: z
			.string()
			.regex(/^[A-Za-z0-9._-]{1,128}$/, "must be the OAuth Client ID from the Honor developer console")
			.openapi({ example: "f0a1b2c3d4e5f6a7b8c9" }),
		client_secret: z
			.string()
			.min(1)
			.max(512)
			.openapi({ description: "OAuth Client Secret from the Honor developer console. Never returned." }),
	})
	.openapi("HonorCredentials");

export type HonorCredentials = z.infer<typeof HonorCredentialsSchema>;

export async function maskHonor(c: HonorCredentials): Promise<Record<string, string>> {
	return { app_id: c.app_id, client_id: c.client_id, client_secret: await fingerprint(c.client_secret) };
}
