import { z } from "../../zod.js";
import { fingerprint, importsAsPkcs8 } from "../common.js";
import { DEFAULT_ENDPOINTS } from "../endpoints.js";

/** https, or http on the loopback interface (a local simulator; unreachable from a deployed Worker). */
function isTokenUri(value: string): boolean {
	// Runs even when the URL check before it failed: a malformed value is a 400, never a throw.
	const url = URL.parse(value);
	if (!url) return false;
	if (url.protocol === "https:") return true;
	return url.protocol === "http:" && (url.hostname === "127.0.0.1" || url.hostname === "localhost");
}

export const FcmCredentialsSchema = z
	.object({
		service_account: z
			.object({
				project_id: z
					.string()
					.regex(/^[a-z][a-z0-9-]{4,61}[a-z0-9]$/, "must be the Firebase project ID")
					.openapi({ example: "my-app-12345" }),
				client_email: z.email().openapi({ example: "firebase-adminsdk-abc@my-app-12345.iam.gserviceaccount.com" }),
				private_key: z
					.string()
					.min(1)
					.max(10_000)
					.refine((pem) => importsAsPkcs8(pem, "RS256"), "must be the service account's PKCS#8 PEM RSA private key")
					.openapi({ description: "The `private_key` of the service account JSON. Never returned." }),
				private_key_id: z.string().max(128).optional().openapi({ description: "Sent as the assertion's `kid` when present." }),
				token_uri: z
					.url({ error: "must be a URL" })
					.refine(isTokenUri, "must be an https URL (http only for 127.0.0.1 or localhost)")
					.optional()
					.openapi({
						description: `OAuth2 token endpoint, also the assertion's audience; defaults to ${DEFAULT_ENDPOINTS.googleTokenUri}.`,
					}),
			})
			.openapi({ description: "The service account JSON downloaded from the Firebase console; extra keys are ignored." }),
	})
	.openapi("FcmCredentials");

export type FcmCredentials = z.infer<typeof FcmCredentialsSchema>;

export async function maskFcm(c: FcmCredentials): Promise<Record<string, string>> {
	const sa = c.service_account;
	const out: Record<string, string> = {
		project_id: sa.project_id,
		client_email: sa.client_email,
		private_key: await fingerprint(sa.private_key),
	};
	if (sa.private_key_id) out.private_key_id = sa.private_key_id;
	return out;
}
