import { createRoute, z } from "@hono/zod-openapi";
import { verifyClientToken } from "../../core/auth/client-tokens.js";
import { nowIso } from "../../core/db/audit.js";
import { maxDevices, registerWsDevice, tooManyDevices } from "../../core/db/users.js";
import { quotaPolicy } from "../../core/metering/buckets.js";
import { inboxFor } from "../../core/objects/shard.js";
import { cachedPlanLimits } from "../../core/plans/cache.js";
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from "../../protocol/frames.js";
import { isValidId } from "../../protocol/ids.js";
import type { Api } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { standardErrors } from "../schemas/common.js";
import { Platform } from "../schemas/users.js";

/** A user at the plan's connection limit: a connection frees when one closes, so try again in a minute. */
const CONNECTION_RETRY_AFTER_S = 60;

const connect = createRoute({
	method: "get",
	path: "/v1/connect",
	tags: ["WebSocket"],
	summary: "Open a device's WebSocket (Upgrade: websocket)",
	description:
		"The client token is checked before the upgrade. Frames are JSON text; see the WebSocket section of docs/api.md " +
		"and `protocol/frames.ts`. A device first seen here is registered for the user with channel `ws`.",
	request: {
		query: z.object({
			token: z.string().optional().openapi({
				description:
					"Client token (JWT) from POST /v1/users/{userId}/tokens. Better: offer the subprotocols `warbler.v1` and `warbler.token.<token>` (Sec-WebSocket-Protocol), which keeps the token out of URLs and access logs.",
			}),
			device: z.string().optional().openapi({ description: "The device id, 1–128 of [A-Za-z0-9_.:@-]." }),
			platform: Platform.optional().openapi({ description: "Recorded when the device is first seen; default web." }),
		}),
	},
	responses: { 101: { description: "Switching protocols." }, ...standardErrors },
});

export function connectRoutes(api: Api) {
	api.openapi(connect, async (c) => {
		const { token: inQuery, device, platform } = c.req.valid("query");
		const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
		const inHeader = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
		const token = inHeader || inQuery;
		const claims = token ? await verifyClientToken(c.env, token) : undefined;
		if (!claims) throw new AppError("unauthorized", "The client token is missing, invalid or expired.");
		if (!device || !isValidId(device)) {
			throw new AppError("invalid_request", "device must be 1–128 characters of [A-Za-z0-9_.:@-].", [
				{ path: "device", message: "invalid device id" },
			]);
		}
		if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
			throw new AppError("invalid_request", "This endpoint only accepts a WebSocket upgrade.", [
				{ path: "upgrade", message: "expected 'Upgrade: websocket'" },
			]);
		}
		const headers = new Headers(c.req.raw.headers);
		headers.set("x-warbler-app", claims.appId);
		headers.set("x-warbler-user", claims.userId);
		headers.set("x-warbler-device", device);
		headers.set("x-warbler-token-exp", String(claims.expiresAt));
		headers.set("x-warbler-token-minted", String(claims.mintedAt));
		const limits = await cachedPlanLimits(c.env, claims.appId);
		if (limits?.devices_per_user) headers.set("x-warbler-max-devices", String(limits.devices_per_user));
		if (limits?.connections_per_user) headers.set("x-warbler-max-connections", String(limits.connections_per_user));
		const res = await inboxFor(c.env, claims.appId, claims.userId).connect(new Request(c.req.raw.url, { headers }));
		// The user's shard refuses a token revoked since it was minted (or whose user was deleted).
		if (res.status === 401) throw new AppError("unauthorized", "The client token was revoked.");
		if (res.status === 409) throw tooManyDevices("device", maxDevices(limits?.devices_per_user));
		if (res.status === 429) {
			const max = limits?.connections_per_user ?? 0;
			throw new AppError(
				"quota_exceeded",
				`This user has ${max} open connections, the most the app's plan allows; close one first.`,
				[{ path: "limits.connections_per_user", message: `${max} of ${max} open` }],
				CONNECTION_RETRY_AFTER_S,
				[quotaPolicy("connections_per_user", max, max, CONNECTION_RETRY_AFTER_S)],
			);
		}
		// D1 is not on the connect path: only a device the user's shard has never seen is registered.
		if (res.headers.get("x-warbler-new-device") === "1") {
			// A client token never creates a user: the device is recorded only while its user exists.
			await registerWsDevice(c.env.DB, claims.appId, claims.userId, device, platform ?? "web", nowIso());
		}
		if (res.status !== 101 || !res.webSocket) return res as unknown as Response & { _status: 101 };
		// The shard's internal header stays inside; a client that offered our subprotocol gets it back.
		const headers101 = offered.includes(SUBPROTOCOL) ? { "sec-websocket-protocol": SUBPROTOCOL } : undefined;
		return new Response(null, { status: 101, webSocket: res.webSocket, headers: headers101 }) as unknown as Response & {
			_status: 101;
		};
	});
}
