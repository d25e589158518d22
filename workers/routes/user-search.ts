import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, gte, lt } from "drizzle-orm";
import { db } from "../../core/db/client.js";
import { users } from "../../core/db/schema.js";
import type { Api } from "../http/context.js";
import { appKeyRoute } from "../http/route.js";
import { Cursor, decodeCursor, encodeCursor, Id, json, pageLimit, standardErrors } from "../schemas/common.js";

/**
 * The app's users in id order, optionally those whose id starts with `prefix` (the console's user
 * search). One range scan of the users primary key (app_id, id): ids are ASCII, so every id with the
 * prefix sorts at or after it and before the prefix followed by DEL (0x7f), above every id character.
 */

const SearchQuery = z.object({
	prefix: Id.optional().openapi({ description: "Only users whose id starts with this." }),
	cursor: Cursor,
	limit: pageLimit(50, 200),
});

const UserRow = z.object({
	id: z.string(),
	locale: z.string().nullable(),
	timezone: z.string().nullable(),
	created_at: z.string(),
	updated_at: z.string(),
});

const UserPage = z.object({ users: z.array(UserRow), next_cursor: z.string().nullable() }).openapi("UserList");

const listUsers = createRoute({
	...appKeyRoute("Users, devices, tokens", "get", "/v1/users", "read"),
	summary: "The app's users in id order, optionally by id prefix (the console's search)",
	request: { query: SearchQuery },
	responses: { 200: json(UserPage, "One page of users."), ...standardErrors },
});

export function userSearchRoutes(api: Api) {
	api.openapi(listUsers, async (c) => {
		const { prefix, cursor, limit } = c.req.valid("query");
		const appId = c.get("caller").appId;
		const after = decodeCursor(cursor);
		const rows = await db(c.env)
			.select({
				id: users.id,
				locale: users.locale,
				timezone: users.timezone,
				createdAt: users.createdAt,
				updatedAt: users.updatedAt,
			})
			.from(users)
			.where(
				and(
					eq(users.appId, appId),
					prefix ? gte(users.id, prefix) : undefined,
					prefix ? lt(users.id, `${prefix}\x7f`) : undefined,
					after ? gt(users.id, after) : undefined,
				),
			)
			.orderBy(asc(users.id))
			.limit(limit + 1)
			.all();
		const page = rows.slice(0, limit);
		return c.json(
			{
				users: page.map((u) => ({
					id: u.id,
					locale: u.locale,
					timezone: u.timezone,
					created_at: u.createdAt,
					updated_at: u.updatedAt,
				})),
				next_cursor: rows.length > limit ? encodeCursor(page.at(-1)?.id ?? "") : null,
			},
			200,
		);
	});
}
