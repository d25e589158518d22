import { and, eq } from "drizzle-orm";
import { db } from "../db/client.js";
import { templates } from "../db/schema.js";

/** One template of an app, or undefined. */
export function findTemplate(env: Env, appId: string, id: string) {
	return db(env)
		.select()
		.from(templates)
		.where(and(eq(templates.appId, appId), eq(templates.id, id)))
		.get();
}
