import { requireScope } from "./auth.js";
import type { Scope } from "./context.js";

/**
 * The common part of every app-key route's OpenAPI config: method, path, tag, auth and scope. The
 * scope is enforced by the middleware and stated in the OpenAPI security requirement
 * (`appKey: [scope]`), so the document says what each route needs (docs/api.md: Scopes).
 * The rule: `read` for reads, `send` for sending (messages, events), `manage` for everything that
 * changes configuration; the contract's own choices (credentials are `manage`) win.
 */
export function appKeyRoute<M extends "get" | "post" | "put" | "patch" | "delete", P extends string>(
	tag: string,
	method: M,
	path: P,
	scope: Scope,
) {
	return { method, path, tags: [tag], security: [{ appKey: [scope] }], middleware: [requireScope(scope)] };
}
