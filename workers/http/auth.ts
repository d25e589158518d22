import type { MiddlewareHandler } from "hono";
import { verifyAppKey } from "../../core/auth/app-keys.js";
import { appForAdmin } from "../../core/auth/console-sessions.js";
import { secretsEqual } from "../../core/auth/crypto.js";
import { db } from "../../core/db/client.js";
import { APP_HEADER, consoleSession } from "./console-session.js";
import { ALL_SCOPES, type HonoEnv, type Scope } from "./context.js";
import { AppError } from "./errors.js";

/**
 * The credential of an `Authorization: Bearer <credential>` header, or undefined when the header is
 * absent or not of that form. The scheme is case-insensitive (RFC 9110 §11.1); the credential is
 * 1–2048 visible ASCII characters (app keys, the admin token and client tokens all fit).
 */
export function parseBearer(header: string | undefined): string | undefined {
	return /^Bearer ([\x21-\x7e]{1,2048})$/i.exec(header ?? "")?.[1];
}

function bearer(header: string | undefined): string {
	const credential = parseBearer(header);
	if (!credential) throw new AppError("unauthorized", "Send a credential as 'Authorization: Bearer <secret>'.");
	return credential;
}

/** The deployment's admin token, compared in constant time. Only for /v1/apps management. */
export const adminAuth: MiddlewareHandler<HonoEnv> = async (c, next) => {
	const header = c.req.header("authorization");
	// Without an Authorization header, a console session cookie (an admin one) may stand in for the token.
	const session = header === undefined ? await consoleSession(c) : undefined;
	if (session) {
		if (session.kind !== "admin") throw new AppError("unauthorized", "The admin token is not valid.");
		c.set("caller", { kind: "admin", appId: "", actor: "admin", scopes: ALL_SCOPES });
		return next();
	}
	const presented = bearer(header);
	const expected = c.env.ADMIN_TOKEN;
	if (!expected || !(await secretsEqual(presented, expected))) {
		throw new AppError("unauthorized", "The admin token is not valid.");
	}
	c.set("caller", { kind: "admin", appId: "", actor: "admin", scopes: ALL_SCOPES });
	return next();
};

/** An app key scopes everything after it to its app. Checked on every request: revocation is immediate. */
export const appKeyAuth: MiddlewareHandler<HonoEnv> = async (c, next) => {
	const header = c.req.header("authorization");
	const session = header === undefined ? await consoleSession(c) : undefined;
	if (session?.kind === "app" && session.appId && session.keyId && session.scopes && session.app) {
		// An app-key console session: that key's app and scopes, re-read (and revocation checked) on every request.
		c.set("caller", { kind: "app", appId: session.appId, actor: session.keyId, scopes: session.scopes, app: session.app });
		return next();
	}
	if (session?.kind === "admin") {
		// The admin in the console works on one app at a time, named by a header; every scope, as the admin could mint.
		const appId = c.req.header(APP_HEADER) ?? "";
		const app = /^app_[0-9a-z]{1,64}$/.test(appId) ? await appForAdmin(db(c.env), appId) : undefined;
		if (!app) throw new AppError("unauthorized", `An admin console session names an existing app in '${APP_HEADER}'.`);
		c.set("caller", { kind: "app", appId, actor: "admin", scopes: ALL_SCOPES, app });
		return next();
	}
	const presented = bearer(header);
	const key = await verifyAppKey(db(c.env), presented);
	if (!key) throw new AppError("unauthorized", "The app key is not valid or was revoked.");
	c.set("caller", { kind: "app", appId: key.appId, actor: key.keyId, scopes: key.scopes, app: key.app });
	return next();
};

export function requireScope(scope: Scope): MiddlewareHandler<HonoEnv> {
	return async (c, next) => {
		if (!c.get("caller").scopes.includes(scope)) {
			throw new AppError("forbidden", `This key lacks the '${scope}' scope.`);
		}
		return next();
	};
}
