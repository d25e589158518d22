import type { Db } from "./client.js";

/**
 * A query built and prepared once per client, for the statements every API request runs: building a
 * drizzle query walks its tables and columns, which cost more CPU than running it (measured).
 */
export function preparedOnce<Q>(build: (d: Db) => Q): (d: Db) => Q {
	const cache = new WeakMap<Db, Q>();
	return (d) => {
		let q = cache.get(d);
		if (!q) {
			q = build(d);
			cache.set(d, q);
		}
		return q;
	};
}
