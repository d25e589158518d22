import { z } from "@hono/zod-openapi";
import { Cursor, Id, pageLimit } from "./common.js";

export const MAX_BULK_IDS = 1000;

const IdList = (max: number) => z.array(Id).max(max);

export const PutUserTagsBody = z
	.strictObject({ add: IdList(1000).optional(), remove: IdList(1000).optional() })
	.openapi("PutUserTagsRequest", { example: { add: ["vip", "beijing"], remove: ["trial"] } });

export const TagUsersBody = z
	.strictObject({ add: IdList(MAX_BULK_IDS).optional(), remove: IdList(MAX_BULK_IDS).optional() })
	.refine((b) => (b.add?.length ?? 0) + (b.remove?.length ?? 0) <= MAX_BULK_IDS, {
		message: `at most ${MAX_BULK_IDS} ids per call`,
		path: ["add"],
	})
	.openapi("TagUsersRequest", { example: { add: ["u1", "u2"] } });

export const TagParam = z.object({ tag: Id });
export const TagsQuery = z.strictObject({ cursor: Cursor, limit: pageLimit(100, 1000).optional() });
export const TagUsersQuery = z.strictObject({ cursor: Cursor, limit: pageLimit(100, 1000).optional() });

export const TagList = z
	.object({
		tags: z.array(z.object({ name: z.string(), users: z.number().int() })),
		next_cursor: z.string().nullable(),
	})
	.openapi("TagList");

export const TagUsers = z.object({ users: z.array(z.string()), next_cursor: z.string().nullable() }).openapi("TagUsers");
