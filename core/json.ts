import { ID_PATTERN } from "../protocol/ids.js";
import { z } from "./zod.js";

/** Ids of users, devices, tags, events and messages given by the app. */
export const Id = z.string().regex(ID_PATTERN, "must be 1–128 characters of [A-Za-z0-9_.:@-]");

/**
 * Any JSON value. Named so the OpenAPI generator emits a `$ref` for its recursion instead of
 * recursing forever (an unnamed `z.json()` inside a record overflows the stack).
 */
export const JsonValue = z.json().openapi("JsonValue");
