import { z } from "../../zod.js";
import { fingerprint } from "../common.js";
import { ChannelIds } from "../oppo/credentials.js";

export const XiaomiCredentialsSchema = z
	.object({
		app_secret: z
			.string()
			.min(1)
			.max(512)
			.openapi({ description: "AppSecret from the Xiaomi push console, sent as `Authorization: key=…`. Never returned." }),
		package_name: z
			.string()
			.regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/, "must be the Android package name")
			.max(255)
			.openapi({ description: "Sent as restricted_package_name.", example: "com.example.app" }),
		channel_ids: ChannelIds.optional(),
	})
	.openapi("XiaomiCredentials");

export type XiaomiCredentials = z.infer<typeof XiaomiCredentialsSchema>;

export async function maskXiaomi(c: XiaomiCredentials): Promise<Record<string, string>> {
	return { package_name: c.package_name, app_secret: await fingerprint(c.app_secret) };
}
