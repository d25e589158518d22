import { z } from "../../zod.js";
import { fingerprint } from "../common.js";

/** Flyme push platform (push.meizu.com) → the app: App ID and App Secret (the AppKey is for the client). */
export const MeizuCredentialsSchema = z
	.object({
		app_id: z
			.string()
			.regex(/^[0-9]{1,20}$/, "must be the numeric App ID from the Flyme push platform")
			.openapi({ example: "110006" }),
		app_secret: z
			.string()
			.min(1)
			.max(512)
			.openapi({ description: "App Secret from the Flyme push platform, signs every request. Never returned." }),
	})
	.openapi("MeizuCredentials");

export type MeizuCredentials = z.infer<typeof MeizuCredentialsSchema>;

export async function maskMeizu(c: MeizuCredentials): Promise<Record<string, string>> {
	return { app_id: c.app_id, app_secret: await fingerprint(c.app_secret) };
}
