import { z } from "../../zod.js";
import { fingerprint } from "../common.js";

/** vivo 开放平台 → 消息推送 → 应用信息: AppID, AppKey and AppSecret. */
export const VivoCredentialsSchema = z
	.object({
		app_id: z
			.string()
			.regex(/^[0-9]{1,20}$/, "must be the numeric AppID from the vivo push console")
			.openapi({ example: "10337" }),
		app_key: z
			.string()
			.regex(/^[A-Za-z0-9_-]{1,128}$/, "must be the AppKey from the vivo push console")
			.openapi({ example: "b46efd9a-59e3-45f9-bc35-cc0ee888b0cc" }),
		app_secret: z.string().min(1).max(512).openapi({ description: "AppSecret from the vivo push console. Never returned." }),
		test_mode: z
			.boolean()
			.optional()
			.openapi({ description: "pushMode 1: only the test devices added in the vivo console receive. Default false." }),
	})
	.openapi("VivoCredentials");

export type VivoCredentials = z.infer<typeof VivoCredentialsSchema>;

export async function maskVivo(c: VivoCredentials): Promise<Record<string, string>> {
	return { app_id: c.app_id, app_key: c.app_key, app_secret: await fingerprint(c.app_secret) };
}
