import { z } from "../../zod.js";
import { fingerprint, importsAsPkcs8 } from "../common.js";

export const ApnsCredentialsSchema = z
	.object({
		team_id: z
			.string()
			.regex(/^[A-Z0-9]{10}$/, "must be the 10-character Apple Developer Team ID")
			.openapi({ example: "ABCDE12345" }),
		key_id: z
			.string()
			.regex(/^[A-Z0-9]{10}$/, "must be the 10-character Key ID of the APNs auth key")
			.openapi({ example: "KEY1234567" }),
		private_key: z
			.string()
			.min(1)
			.max(10_000)
			.refine((pem) => importsAsPkcs8(pem, "ES256"), "must be the .p8 auth key: a PKCS#8 PEM P-256 private key")
			.openapi({ description: "Contents of the AuthKey_<key_id>.p8 file (PEM). Never returned." }),
		bundle_id: z
			.string()
			.min(1)
			.max(255)
			.regex(/^[A-Za-z0-9.-]+$/, "must be the app's bundle identifier")
			.openapi({ description: "The app's bundle ID, sent as apns-topic.", example: "com.example.app" }),
		environment: z.enum(["production", "sandbox"]).openapi({
			description: "`sandbox` for development builds, `production` for TestFlight and App Store builds.",
		}),
	})
	.openapi("ApnsCredentials");

export type ApnsCredentials = z.infer<typeof ApnsCredentialsSchema>;

export async function maskApns(c: ApnsCredentials): Promise<Record<string, string>> {
	return {
		team_id: c.team_id,
		key_id: c.key_id,
		bundle_id: c.bundle_id,
		environment: c.environment,
		private_key: await fingerprint(c.private_key),
	};
}
