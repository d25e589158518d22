import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { verifyAppKey } from "../../core/auth/app-keys.js";
import { type ConsoleSession, createSession, csrfTokenFor, deleteSession } from "../../core/auth/console-sessions.js";
import { secretsEqual } from "../../core/auth/crypto.js";
import { db } from "../../core/db/client.js";
import { consoleSession, SESSION_COOKIE } from "../http/console-session.js";
import { ALL_SCOPES, type Api, type HonoEnv } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { ScopeSchema } from "../schemas/apps.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";

/**
 * Console sign-in: the admin token or an app key is exchanged once for a session cookie, so the
 * browser never keeps a key (not in localStorage, not in script-readable cookies).
 */

const SignIn = z
	.strictObject({
		token: z
			.string()
			.regex(/^[\x21-\x7e]{1,2048}$/, "1–2048 visible ASCII characters")
			.openapi({ description: "The admin token or an app key secret (wbsk.…)." }),
	})
	.openapi("ConsoleSignIn");

const SessionInfo = z
	.object({
		kind: z.enum(["admin", "app"]),
		app_id: z.string().nullable().openapi({ description: "The key's app; null for the admin." }),
		scopes: z.array(ScopeSchema),
		expires_at: z.string(),
		csrf_token: z.string().openapi({ description: "Send it as `X-Warbler-CSRF` on every request that changes something." }),
	})
	.openapi("ConsoleSession");

const security = [{ consoleSession: [] }];
const tags = ["Console"];

const signIn = createRoute({
	method: "post",
	path: "/v1/console/session",
	tags,
	summary: "Sign in to the console: sets the HttpOnly session cookie (12 hours)",
	request: jsonBody(SignIn),
	responses: { 201: json(SessionInfo, "Signed in; Set-Cookie carries the session."), ...standardErrors },
});

const current = createRoute({
	method: "get",
	path: "/v1/console/session",
	tags,
	security,
	summary: "The console session of the cookie",
	responses: { 200: json(SessionInfo, "The session."), ...standardErrors },
});

const signOut = createRoute({
	method: "delete",
	path: "/v1/console/session",
	tags,
	security,
	summary: "Sign out: the session ends and the cookie is cleared",
	responses: { 204: { description: "Signed out." }, ...standardErrors },
});

async function info(session: Pick<ConsoleSession, "kind" | "appId" | "scopes" | "expiresAt">, id: string) {
	return {
		kind: session.kind,
		app_id: session.appId ?? null,
		scopes: session.kind === "admin" ? ALL_SCOPES : (session.scopes ?? []),
		expires_at: new Date(session.expiresAt).toISOString(),
		csrf_token: await csrfTokenFor(id),
	};
}

/** Secure everywhere but plain-http loopback (the local stack), where a Secure cookie would never come back. */
const secureCookie = (c: Context<HonoEnv>) => new URL(c.req.url).protocol === "https:";

/**
 * Sign-in only from the console's own origin: a cross-site page cannot sign a browser in to its own app
 * (browsers send Origin and Sec-Fetch-Site on every cross-site POST; clients without them are no CSRF vector).
 */
function assertSameOrigin(c: Context<HonoEnv>) {
	const origin = c.req.header("origin");
	const site = c.req.header("sec-fetch-site");
	if (
		(origin !== undefined && origin !== new URL(c.req.url).origin) ||
		(site !== undefined && site !== "same-origin" && site !== "none")
	) {
		throw new AppError("forbidden", "Console sign-in must come from the console's own origin.");
	}
}

export function consoleRoutes(api: Api) {
	api.openapi(signIn, async (c) => {
		assertSameOrigin(c);
		const { token } = c.req.valid("json");
		const d = db(c.env);
		const admin = c.env.ADMIN_TOKEN ? await secretsEqual(token, c.env.ADMIN_TOKEN) : false;
		const key = admin ? undefined : await verifyAppKey(d, token);
		if (!admin && !key) throw new AppError("unauthorized", "That is neither the admin token nor a valid app key.");
		const started = await createSession(
			d,
			key ? { kind: "app", appId: key.appId, keyId: key.keyId } : { kind: "admin", adminToken: c.env.ADMIN_TOKEN },
		);
		setCookie(c, SESSION_COOKIE, started.id, {
			path: "/",
			httpOnly: true,
			secure: secureCookie(c),
			sameSite: "Strict",
			maxAge: Math.floor((started.expiresAt - Date.now()) / 1000),
		});
		const session = key
			? { kind: "app" as const, appId: key.appId, scopes: key.scopes, expiresAt: started.expiresAt }
			: { kind: "admin" as const, expiresAt: started.expiresAt };
		return c.json(await info(session, started.id), 201);
	});

	api.openapi(current, async (c) => {
		const session = await consoleSession(c);
		const id = getCookie(c, SESSION_COOKIE);
		if (!session || !id) throw new AppError("unauthorized", "Not signed in to the console.");
		return c.json(await info(session, id), 200);
	});

	api.openapi(signOut, async (c) => {
		const session = await consoleSession(c); // checks origin and the CSRF header, as every mutation
		const id = getCookie(c, SESSION_COOKIE);
		if (!session || !id) throw new AppError("unauthorized", "Not signed in to the console.");
		await deleteSession(db(c.env), id);
		deleteCookie(c, SESSION_COOKIE, { path: "/", secure: secureCookie(c), sameSite: "Strict", httpOnly: true });
		return c.body(null, 204);
	});

	api.openAPIRegistry.registerComponent("securitySchemes", "consoleSession", {
		type: "apiKey",
		in: "cookie",
		name: SESSION_COOKIE,
		description:
			"The web console's session cookie (POST /v1/console/session). It also stands in for the admin token or the " +
			"app key on every route when no Authorization header is sent; changes need the X-Warbler-CSRF header.",
	});
}
