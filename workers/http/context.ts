import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Caller } from "../../core/auth/caller.js";

export { ALL_SCOPES, type Caller, type Scope } from "../../core/auth/caller.js";

export interface HonoEnv {
	Bindings: Env;
	Variables: { caller: Caller };
}

export type Api = OpenAPIHono<HonoEnv>;
