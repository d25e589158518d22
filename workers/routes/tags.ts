import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import { nowIso } from "../../core/db/audit.js";
import { type Db, db } from "../../core/db/client.js";
import { userTags } from "../../core/db/schema.js";
import { ensureUser, ensureUsers, usersOverTagLimit, userTagNames } from "../../core/db/users.js";
import { chunks } from "../../core/util/chunks.js";
import type { Api } from "../http/context.js";
import { AppError, notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { decodeCursor, encodeCursor, json, jsonBody, standardErrors } from "../schemas/common.js";
import { PutUserTagsBody, TagList, TagParam, TagsQuery, TagUsers, TagUsersBody, TagUsersQuery } from "../schemas/tags.js";
import { MAX_TAGS_PER_USER, UserIdParam } from "../schemas/users.js";

const TAG = "Tags";
/** D1 binds at most 100 parameters per statement; a user_tags row takes 3. */
const ROWS_PER_INSERT = 30;
const TAG_LIMIT_ATTEMPTS = 5;

const putUserTags = createRoute({
	...appKeyRoute(TAG, "put", "/v1/users/{userId}/tags", "manage"),
	summary: "Add and remove a user's tags (at most 1,000 per user)",
	request: { params: UserIdParam, ...jsonBody(PutUserTagsBody) },
	responses: { 200: json(z.object({ tags: z.array(z.string()) }), "The user's tags after the change."), ...standardErrors },
});

const tagUsers = createRoute({
	...appKeyRoute(TAG, "post", "/v1/tags/{tag}/users", "manage"),
	summary: "Add users to and remove users from a tag (at most 1,000 ids per call)",
	request: { params: TagParam, ...jsonBody(TagUsersBody) },
	responses: {
		200: json(z.object({ added: z.number().int(), removed: z.number().int() }), "How many memberships changed."),
		...standardErrors,
	},
});

const listTags = createRoute({
	...appKeyRoute(TAG, "get", "/v1/tags", "read"),
	summary: "The app's tags with their user counts, by name",
	request: { query: TagsQuery },
	responses: { 200: json(TagList, "A page of tags."), ...standardErrors },
});

const listTagUsers = createRoute({
	...appKeyRoute(TAG, "get", "/v1/tags/{tag}/users", "read"),
	summary: "A tag's users in id order",
	request: { params: TagParam, query: TagUsersQuery },
	responses: { 200: json(TagUsers, "A page of user ids."), ...standardErrors },
});

function rejectOverlap(add: string[], remove: string[]) {
	const removing = new Set(remove);
	const both = add.filter((x) => removing.has(x));
	if (both.length) {
		throw new AppError("invalid_request", "An id cannot be both added and removed in one call.", [
			{ path: "remove", message: `also in add: ${both.slice(0, 5).join(", ")}` },
		]);
	}
}

/**
 * Statements that fail (and so roll back the whole D1 batch they end) when any of `userIds` holds
 * more than MAX_TAGS_PER_USER tags: the check before the batch alone would let concurrent
 * requests each pass it and together overshoot. `json('…')` of a non-JSON text raises the error.
 */
function tagLimitGuards(d: Db, appId: string, userIds: string[]) {
	return chunks(userIds, 90).map((part) =>
		d
			.select({ guard: sql`json(CASE WHEN count(*) > ${MAX_TAGS_PER_USER} THEN 'over the tag limit' ELSE '0' END)` })
			.from(userTags)
			.where(and(eq(userTags.appId, appId), inArray(userTags.userId, part)))
			.groupBy(userTags.userId),
	);
}

/**
 * Runs a tag change whose batch ends in tagLimitGuards. A batch that fails is retried from a
 * fresh read, which answers 400 if the limit is now reached; other failures surface after a few tries.
 */
async function withTagLimit<T>(attempt: () => Promise<T>): Promise<T> {
	for (let i = 1; ; i++) {
		try {
			return await attempt();
		} catch (err) {
			if (err instanceof AppError || i >= TAG_LIMIT_ATTEMPTS) throw err;
		}
	}
}

export function tagRoutes(api: Api) {
	api.openapi(putUserTags, async (c) => {
		const { userId } = c.req.valid("param");
		const body = c.req.valid("json");
		const { appId } = c.get("caller");
		const add = [...new Set(body.add ?? [])];
		const remove = [...new Set(body.remove ?? [])];
		rejectOverlap(add, remove);
		const d = db(c.env);
		await withTagLimit(async () => {
			const current = new Set(await userTagNames(d, appId, userId));
			const after = new Set(current);
			for (const t of add) after.add(t);
			for (const t of remove) after.delete(t);
			if (after.size > MAX_TAGS_PER_USER) {
				throw new AppError("invalid_request", `A user may have at most ${MAX_TAGS_PER_USER} tags.`, [
					{ path: "add", message: `would give the user ${after.size} tags` },
				]);
			}
			const toAdd = add.filter((t) => !current.has(t));
			const toRemove = remove.filter((t) => current.has(t));
			await d.batch([
				ensureUser(d, appId, userId, nowIso()),
				...chunks(toAdd, ROWS_PER_INSERT).map((part) =>
					d
						.insert(userTags)
						.values(part.map((tag) => ({ appId, tag, userId })))
						.onConflictDoNothing(),
				),
				...chunks(toRemove, 90).map((part) =>
					d.delete(userTags).where(and(eq(userTags.appId, appId), eq(userTags.userId, userId), inArray(userTags.tag, part))),
				),
				...(toAdd.length ? tagLimitGuards(d, appId, [userId]) : []),
			]);
		});
		return c.json({ tags: await userTagNames(d, appId, userId) }, 200);
	});

	api.openapi(tagUsers, async (c) => {
		const { tag } = c.req.valid("param");
		const body = c.req.valid("json");
		const { appId } = c.get("caller");
		const add = [...new Set(body.add ?? [])];
		const remove = [...new Set(body.remove ?? [])];
		rejectOverlap(add, remove);
		const d = db(c.env);
		const counts = await withTagLimit(async () => {
			const already = new Set<string>();
			for (const part of chunks(add, 90)) {
				const rows = await d
					.select({ userId: userTags.userId })
					.from(userTags)
					.where(and(eq(userTags.appId, appId), eq(userTags.tag, tag), inArray(userTags.userId, part)))
					.all();
				for (const r of rows) already.add(r.userId);
			}
			const toAdd = add.filter((u) => !already.has(u));
			const over = await usersOverTagLimit(d, appId, toAdd, () => 1, MAX_TAGS_PER_USER);
			if (over.length) {
				throw new AppError("invalid_request", `A user may have at most ${MAX_TAGS_PER_USER} tags.`, [
					{ path: "add", message: `already at the limit: ${over.slice(0, 5).join(", ")}` },
				]);
			}
			const now = nowIso();
			const userInserts = ensureUsers(d, appId, toAdd, now);
			const inserts = chunks(toAdd, ROWS_PER_INSERT).map((part) =>
				d
					.insert(userTags)
					.values(part.map((userId) => ({ appId, tag, userId })))
					.onConflictDoNothing()
					.returning({ userId: userTags.userId }),
			);
			const removals = chunks(remove, 90).map((part) =>
				d
					.delete(userTags)
					.where(and(eq(userTags.appId, appId), eq(userTags.tag, tag), inArray(userTags.userId, part)))
					.returning({ userId: userTags.userId }),
			);
			const statements = [...userInserts, ...inserts, ...removals, ...tagLimitGuards(d, appId, toAdd)];
			let added = 0;
			let removed = 0;
			if (statements.length) {
				const results = await d.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
				const insertStart = userInserts.length;
				const removeStart = insertStart + inserts.length;
				const guardStart = removeStart + removals.length;
				results.forEach((r, i) => {
					if (i >= insertStart && i < removeStart) added += (r as unknown[]).length;
					else if (i >= removeStart && i < guardStart) removed += (r as unknown[]).length;
				});
			}
			return { added, removed };
		});
		return c.json(counts, 200);
	});

	api.openapi(listTags, async (c) => {
		const { cursor, limit } = c.req.valid("query");
		const { appId } = c.get("caller");
		const after = decodeCursor(cursor);
		const pageSize = limit ?? 100;
		const rows = await db(c.env)
			.select({ name: userTags.tag, users: sql<number>`count(*)` })
			.from(userTags)
			.where(and(eq(userTags.appId, appId), after === undefined ? undefined : gt(userTags.tag, after)))
			.groupBy(userTags.tag)
			.orderBy(asc(userTags.tag))
			.limit(pageSize + 1)
			.all();
		const page = rows.slice(0, pageSize);
		const last = page.at(-1);
		return c.json({ tags: page, next_cursor: rows.length > pageSize && last ? encodeCursor(last.name) : null }, 200);
	});

	api.openapi(listTagUsers, async (c) => {
		const { tag } = c.req.valid("param");
		const { cursor, limit } = c.req.valid("query");
		const { appId } = c.get("caller");
		const after = decodeCursor(cursor);
		const pageSize = limit ?? 100;
		const rows = await db(c.env)
			.select({ userId: userTags.userId })
			.from(userTags)
			.where(and(eq(userTags.appId, appId), eq(userTags.tag, tag), after === undefined ? undefined : gt(userTags.userId, after)))
			.orderBy(asc(userTags.userId))
			.limit(pageSize + 1)
			.all();
		if (rows.length === 0 && after === undefined) throw notFound("tag");
		const page = rows.slice(0, pageSize).map((r) => r.userId);
		const last = page.at(-1);
		return c.json({ users: page, next_cursor: rows.length > pageSize && last ? encodeCursor(last) : null }, 200);
	});
}
