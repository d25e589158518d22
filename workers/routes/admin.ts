import { createRoute, z } from "@hono/zod-openapi";
import { resealSecrets } from "../../core/credentials/rotate.js";
import type { Api } from "../http/context.js";
import { json, standardErrors } from "../schemas/common.js";

const rotate = createRoute({
	method: "post",
	path: "/v1/admin/rotate-encryption",
	tags: ["Apps and keys"],
	security: [{ adminToken: [] }],
	summary: "Re-seal every secret at rest under the current ENCRYPTION_KEY (see README: Rotating the encryption key)",
	responses: {
		200: json(
			z.object({
				version: z.number().int(),
				apps: z.number().int(),
				credentials: z.number().int(),
				unreadable: z.array(z.string()).openapi({ description: "Records no configured key opens; left as they are." }),
			}),
			"How many records were re-sealed.",
		),
		...standardErrors,
	},
});

export function adminRoutes(api: Api) {
	api.openapi(rotate, async (c) => c.json(await resealSecrets(c.env), 200));
}
