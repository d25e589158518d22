import type { Audience } from "../../protocol/message.js";

type QueuedAudience = Exclude<Audience, { users: string[] }>;

/**
 * One page of an audience's user ids, in id order after `after`. Tag rules: any = OR, all = AND,
 * none = NOT, combined with AND. Every value is a bound parameter; the tag index
 * (app_id, tag, user_id) drives the scan so a page costs about `limit` index rows.
 */
export async function audiencePage(
	d1: D1Database,
	appId: string,
	audience: QueuedAudience,
	after: string | null,
	limit: number,
): Promise<string[]> {
	const cursor = after ?? "";
	if ("all" in audience) {
		const { results } = await d1
			.prepare("SELECT id FROM users WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?")
			.bind(appId, cursor, limit)
			.all<{ id: string }>();
		return results.map((r) => r.id);
	}
	const any = audience.tags.any ?? [];
	const all = audience.tags.all ?? [];
	const none = audience.tags.none ?? [];
	const params: unknown[] = [];
	const marks = (xs: string[]) => xs.map(() => "?").join(", ");
	let source: string;
	if (any.length || all.length) {
		// Drive from the OR set, or else from the first AND tag.
		const driving = any.length ? any : all.slice(0, 1);
		source = `SELECT DISTINCT t.user_id AS id FROM user_tags t WHERE t.app_id = ? AND t.tag IN (${marks(driving)}) AND t.user_id > ?`;
		params.push(appId, ...driving, cursor);
	} else {
		source = "SELECT u.id AS id FROM users u WHERE u.app_id = ? AND u.id > ?";
		params.push(appId, cursor);
	}
	const outer = any.length || all.length ? "t.user_id" : "u.id";
	let where = "";
	if (all.length) {
		where += ` AND (SELECT count(*) FROM user_tags a WHERE a.app_id = ? AND a.user_id = ${outer} AND a.tag IN (${marks(all)})) = ?`;
		params.push(appId, ...all, all.length);
	}
	if (none.length) {
		where += ` AND NOT EXISTS (SELECT 1 FROM user_tags n WHERE n.app_id = ? AND n.user_id = ${outer} AND n.tag IN (${marks(none)}))`;
		params.push(appId, ...none);
	}
	params.push(limit);
	const { results } = await d1
		.prepare(`${source}${where} ORDER BY id LIMIT ?`)
		.bind(...params)
		.all<{ id: string }>();
	return results.map((r) => r.id);
}
