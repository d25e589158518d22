import { requireScope } from "./auth.js";
import type { Scope } from "./context.js";

/** The common part of an app-key route's OpenAPI config: method, path, tag, auth and scope. */
export function appKeyRoute<M extends "get" | "post" | "put" | "patch" | "delete", P extends string>(
	tag: string,
	method: M,
	path: P,
	scope: Scope,
) {
	return { method, path, tags: [tag], security: [{ appKey: [] }], middleware: [requireScope(scope)] };
}
