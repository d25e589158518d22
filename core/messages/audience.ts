import { compileFilter } from "../rules/filter.js";
import type { StoredAudience } from "./schema.js";

/** The audiences that fan out through the queue: tags, all, filter. */
export type QueuedAudience = Exclude<StoredAudience, { users: string[] }>;

/** D1 binds at most 100 parameters per statement. */
const MAX_PARAMS = 100;

/**
 * One page of an audience's user ids, in id order after `after`. Tag rules: any = OR, all = AND,
 * none = NOT, combined with AND; an attribute `filter` narrows any audience further. Every value
 * is a bound parameter; the tag index (app_id, tag, user_id) or the users primary key drives the
 * scan, so a page costs about `limit` index rows plus the rows the filter rejects.
 */
export async function audiencePage(
	d1: D1Database,
	appId: string,
	audience: QueuedAudience,
	after: string | null,
	limit: number,
): Promise<string[]> {
	const { sql, params } = audienceQuery(appId, audience, after ?? "", limit);
	const { results } = await d1
		.prepare(sql)
		.bind(...params)
		.all<{ id: string }>();
	return results.map((r) => r.id);
}

/** The statement for one page; throws FilterError when the filter does not fit the parameter budget. */
export function audienceQuery(appId: string, audience: QueuedAudience, cursor: string, limit: number) {
	const params: unknown[] = [];
	const marks = (xs: string[]) => xs.map(() => "?").join(", ");
	const tags = "tags" in audience ? audience.tags : undefined;
	const any = tags?.any ?? [];
	const all = tags?.all ?? [];
	const none = tags?.none ?? [];
	let sql: string;
	let outer: string;
	if (any.length || all.length) {
		// Drive from the OR set, or else from the first AND tag.
		const driving = any.length ? any : all.slice(0, 1);
		sql = `SELECT DISTINCT t.user_id AS id FROM user_tags t WHERE t.app_id = ? AND t.tag IN (${marks(driving)}) AND t.user_id > ?`;
		params.push(appId, ...driving, cursor);
		outer = "t.user_id";
	} else {
		sql = "SELECT u.id AS id FROM users u WHERE u.app_id = ? AND u.id > ?";
		params.push(appId, cursor);
		outer = "u.id";
	}
	if (all.length) {
		sql += ` AND (SELECT count(*) FROM user_tags a WHERE a.app_id = ? AND a.user_id = ${outer} AND a.tag IN (${marks(all)})) = ?`;
		params.push(appId, ...all, all.length);
	}
	if (none.length) {
		sql += ` AND NOT EXISTS (SELECT 1 FROM user_tags n WHERE n.app_id = ? AND n.user_id = ${outer} AND n.tag IN (${marks(none)}))`;
		params.push(appId, ...none);
	}
	if ("filter" in audience && audience.filter) {
		const budget = MAX_PARAMS - params.length - 2;
		const compiled = compileFilter(audience.filter, { maxParams: budget });
		if (outer === "u.id") {
			sql += ` AND (${compiled.sql})`;
			params.push(...compiled.params);
		} else {
			sql += ` AND EXISTS (SELECT 1 FROM users u WHERE u.app_id = ? AND u.id = t.user_id AND (${compiled.sql}))`;
			params.push(appId, ...compiled.params);
		}
	}
	sql += " ORDER BY id LIMIT ?";
	params.push(limit);
	return { sql, params };
}
