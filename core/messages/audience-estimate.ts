import { AppError } from "../errors.js";
import { FilterError } from "../rules/filter.js";
import { audienceQuery } from "./audience.js";
import type { StoredAudience } from "./schema.js";

/** Counting stops here: the composer needs "how many, roughly", and a count must stay one cheap query. */
export const ESTIMATE_CAP = 100_000;

export interface AudienceEstimate {
	/** Users the audience resolves to now (at most ESTIMATE_CAP). */
	users: number;
	/** True when counting stopped at the cap: the audience is at least `users`. */
	capped: boolean;
}

/**
 * How many users a message to `audience` would reach if sent now: the same statement the fan-out pages
 * with (core/messages/audience.ts), counted instead of read. A `users` list counts its distinct ids
 * (a message to a user not yet registered still waits in their inbox).
 */
export async function estimateAudience(d1: D1Database, appId: string, audience: StoredAudience): Promise<AudienceEstimate> {
	if ("users" in audience) return { users: new Set(audience.users).size, capped: false };
	let query: { sql: string; params: unknown[] };
	try {
		query = audienceQuery(appId, audience, "", ESTIMATE_CAP + 1);
	} catch (err) {
		if (!(err instanceof FilterError)) throw err;
		throw new AppError("invalid_request", "The audience filter is too large for one query with these tags.", [
			{ path: "audience.filter", message: err.message },
		]);
	}
	const row = await d1
		.prepare(`SELECT count(*) AS n FROM (${query.sql})`)
		.bind(...query.params)
		.first<{ n: number }>();
	const n = row?.n ?? 0;
	return { users: Math.min(n, ESTIMATE_CAP), capped: n > ESTIMATE_CAP };
}
