import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { verifyAppKey } from "../../core/auth/app-keys.js";
import { verifyClientToken } from "../../core/auth/client-tokens.js";
import { currentKeyVersion } from "../../core/auth/keyring.js";
import { channels } from "../../core/channels/registry.js";
import type { VendorChannelId } from "../../core/channels/types.js";
import {
	credentialView,
	findCredentialRow,
	forgetCredentialRows,
	listCredentialRows,
	loadCredentials,
	saveCredentials,
} from "../../core/credentials/store.js";
import { auditEntry, nowIso } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { credentials } from "../../core/db/schema.js";
import { vendorTokensFor } from "../../core/objects/vendor-tokens.js";
import { type ReceiptKeys, receiptUrl as receiptUrlFor } from "../../core/receipts/token.js";
import { parseBearer } from "../http/auth.js";
import type { Api } from "../http/context.js";
import { AppError, notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";

const TAG = "Vendor channels";
const VENDORS = [
	"apns",
	"fcm",
	"hms",
	"xiaomi",
	"webpush",
	"oppo",
	"vivo",
	"honor",
	"meizu",
] as const satisfies readonly VendorChannelId[];

const CredentialView = z
	.object({
		channel: z.enum(VENDORS),
		configured_at: z.string(),
		status: z.enum(["active", "error"]),
		masked: z.record(z.string(), z.string()).openapi({ description: "Ids and fingerprints only; never a secret." }),
		token: z.object({
			last_refresh_at: z.string().nullable(),
			expires_at: z.string().nullable(),
			last_error: z.string().nullable(),
		}),
		receipt_url: z
			.string()
			.optional()
			.openapi({
				description:
					"OPPO, HMS, Xiaomi and Meizu, when the deployment sets PUBLIC_BASE_URL: where the vendor posts delivery " +
					"receipts. OPPO and Xiaomi get it with every push (Meizu too, once registered in its console's 回执管理); " +
					"for HMS enter it in AppGallery Connect (docs/api.md: Vendor receipts).",
			}),
	})
	.openapi("Credentials");

const ChannelParam = z.object({ channel: z.enum(VENDORS) });

const listRoute = createRoute({
	...appKeyRoute(TAG, "get", "/v1/credentials", "manage"),
	summary: "The app's vendor credentials, masked, with token status",
	responses: { 200: json(z.object({ credentials: z.array(CredentialView) }), "Masked credentials."), ...standardErrors },
});

const getRoute = createRoute({
	...appKeyRoute(TAG, "get", "/v1/credentials/{channel}", "manage"),
	summary: "One channel's credentials, masked",
	request: { params: ChannelParam },
	responses: { 200: json(CredentialView, "Masked credentials."), ...standardErrors },
});

const deleteRoute = createRoute({
	...appKeyRoute(TAG, "delete", "/v1/credentials/{channel}", "manage"),
	summary: "Remove one channel's credentials",
	request: { params: ChannelParam },
	responses: { 204: { description: "Removed." }, ...standardErrors },
});

const publicKeyRoute = createRoute({
	method: "get",
	path: "/v1/webpush/public-key",
	tags: [TAG],
	summary: "The app's VAPID public key, for pushManager.subscribe (app key or client token)",
	security: [{ appKey: [] }, { clientToken: [] }],
	request: {
		query: z.object({ token: z.string().optional().openapi({ description: "A client token, instead of the header." }) }),
	},
	responses: {
		200: json(
			z.object({ public_key: z.string().openapi({ description: "base64url, 65-byte uncompressed P-256 point" }) }),
			"The key.",
		),
		...standardErrors,
	},
});

export function credentialRoutes(api: Api) {
	for (const id of VENDORS) {
		const channel = channels[id];
		const put = createRoute({
			...appKeyRoute(TAG, "put", `/v1/credentials/${id}`, "manage"),
			summary: `Upload ${id} credentials (sealed at rest; never shown again)`,
			request: jsonBody(channel.credentialSchema),
			responses: { 200: json(CredentialView, "Stored; masked view."), ...standardErrors },
		});
		api.openapi(put, async (c) => {
			const caller = c.get("caller");
			const input = c.req.valid("json") as unknown;
			const value = channel.completeCredentials ? await channel.completeCredentials(input) : input;
			const masked = await channel.mask(value);
			await saveCredentials(c.env, caller.appId, id, value, masked, nowIso(), currentKeyVersion(c.env));
			await vendorTokensFor(c.env, caller.appId).invalidate(id);
			const d = db(c.env);
			await auditEntry(d, caller, caller.appId, "credentials.put", id);
			const row = await findCredentialRow(c.env, caller.appId, id);
			if (!row) throw notFound("credentials");
			return c.json(credentialView(row), 200);
		});
	}

	api.openapi(listRoute, async (c) => {
		const rows = await listCredentialRows(c.env, c.get("caller").appId);
		return c.json({ credentials: rows.map(credentialView) }, 200);
	});

	api.openapi(getRoute, async (c) => {
		const { channel } = c.req.valid("param");
		const appId = c.get("caller").appId;
		const row = await findCredentialRow(c.env, appId, channel);
		if (!row) throw notFound(`${channel} credentials`);
		const receiptUrl = await receiptUrlFor(c.env as unknown as ReceiptKeys, channel, appId);
		return c.json({ ...credentialView(row), ...(receiptUrl ? { receipt_url: receiptUrl } : {}) }, 200);
	});

	api.openapi(deleteRoute, async (c) => {
		const { channel } = c.req.valid("param");
		const caller = c.get("caller");
		const d = db(c.env);
		const where = and(eq(credentials.appId, caller.appId), eq(credentials.channel, channel));
		if (!(await d.select({ c: credentials.channel }).from(credentials).where(where).get()))
			throw notFound(`${channel} credentials`);
		await d.batch([d.delete(credentials).where(where), auditEntry(d, caller, caller.appId, "credentials.delete", channel)]);
		forgetCredentialRows(caller.appId);
		await vendorTokensFor(c.env, caller.appId).invalidate(channel);
		return c.body(null, 204);
	});

	api.openapi(publicKeyRoute, async (c) => {
		const appId = await appOfCaller(c.env, c.req.header("authorization"), c.req.query("token"));
		const creds = await loadCredentials(c.env, appId, "webpush");
		if (!creds) throw notFound("webpush credentials");
		return c.json({ public_key: creds.public_key }, 200);
	});
}

/** An app key (any scope) or a client token of one of the app's users. */
async function appOfCaller(env: Env, authorization: string | undefined, queryToken: string | undefined): Promise<string> {
	const bearer = parseBearer(authorization);
	if (bearer?.startsWith("wbsk.")) {
		const key = await verifyAppKey(db(env), bearer);
		if (key) return key.appId;
	} else {
		const token = bearer ?? queryToken;
		const claims = token ? await verifyClientToken(env, token) : undefined;
		if (claims) return claims.appId;
	}
	throw new AppError("unauthorized", "Send an app key or a client token.");
}
