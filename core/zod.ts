import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

/**
 * zod with `.openapi()` metadata: core's schemas (Content, Audience, filters, schedules, …) carry
 * their own names and descriptions into the OpenAPI document without core depending on Hono. The
 * extension is idempotent, and `@hono/zod-openapi` applies the same one to the same zod.
 */
extendZodWithOpenApi(z);

export { z };
