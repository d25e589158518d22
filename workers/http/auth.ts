import type { MiddlewareHandler } from "hono";
import { verifyAppKey } from "../../core/auth/app-keys.js";
import { secretsEqual } from "../../core/auth/crypto.js";
import { db } from "../../core/db/client.js";
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
	const presented = bearer(c.req.header("authorization"));
	const expected = c.env.ADMIN_TOKEN;
	if (!expected || !(await secretsEqual(presented, expected))) {
		throw new AppError("unauthorized", "The admin token is not valid.");
	}
	c.set("caller", { kind: "admin", appId: "", actor: "admin", scopes: ALL_SCOPES });
	return next();
};

/** An app key scopes everything after it to its app. Checked on every request: revocation is immediate. */
export const appKeyAuth: MiddlewareHandler<HonoEnv> = async (c, next) => {
	const presented = bearer(c.req.header("authorization"));
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
