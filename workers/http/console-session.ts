import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { type ConsoleSession, csrfTokenFor, findSession } from "../../core/auth/console-sessions.js";
import { db } from "../../core/db/client.js";
import type { HonoEnv } from "./context.js";
import { AppError } from "./errors.js";

/** The cookie that carries a console session id (HttpOnly, SameSite=Strict; Secure except on local http). */
export const SESSION_COOKIE = "warbler_session";
/** A console request that changes anything repeats the session's CSRF token in this header. */
export const CSRF_HEADER = "x-warbler-csrf";
/** An admin session names the app it works on (app-key routes) in this header. */
export const APP_HEADER = "x-warbler-app";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The console session of a request that has no Authorization header: undefined without the cookie,
 * 401 when the cookie opens no live session. A mutation must also come from the same origin (Origin,
 * or Sec-Fetch-Site when Origin is absent) and carry the CSRF header: SameSite=Strict already keeps the
 * cookie off cross-site requests; the header is what a cross-site form or a no-CORS fetch cannot add.
 */
export async function consoleSession(c: Context<HonoEnv>): Promise<ConsoleSession | undefined> {
	const id = getCookie(c, SESSION_COOKIE);
	if (id === undefined) return undefined;
	const session = await findSession(db(c.env), id, c.env.ADMIN_TOKEN);
	if (!session) throw new AppError("unauthorized", "The console session has ended; sign in again.");
	if (!SAFE_METHODS.has(c.req.method)) await checkSameOrigin(c, id);
	return session;
}

async function checkSameOrigin(c: Context<HonoEnv>, sessionId: string) {
	const origin = c.req.header("origin");
	const site = c.req.header("sec-fetch-site");
	const sameOrigin = origin !== undefined ? origin === new URL(c.req.url).origin : site === undefined || site === "same-origin";
	if (!sameOrigin) throw new AppError("forbidden", "Console requests must come from the console's own origin.");
	if (c.req.header(CSRF_HEADER) !== (await csrfTokenFor(sessionId))) {
		throw new AppError("forbidden", `A console request that changes something needs the '${CSRF_HEADER}' header.`);
	}
}
