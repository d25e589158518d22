import type { PolicyState } from "../../core/metering/buckets.js";

/**
 * The RateLimit fields of draft-ietf-httpapi-ratelimit-headers for every policy, e.g.
 * `RateLimit-Policy: "per-key";q=10;w=1, "per-app";q=50;w=1` and `RateLimit: "per-key";r=3;t=1, …`,
 * plus the older `RateLimit-Limit` / `-Remaining` / `-Reset` that many clients read, for the tightest
 * policy (the fewest requests left; the first of equals).
 */
export function rateLimitHeaders(policies: PolicyState[]): Record<string, string> {
	const tightest = policies.reduce((a, b) => (b.remaining < a.remaining ? b : a));
	return {
		"RateLimit-Policy": policies
			.map((p) => `"${p.name}";q=${p.quota}${p.window === undefined ? "" : `;w=${p.window}`}`)
			.join(", "),
		RateLimit: policies.map((p) => `"${p.name}";r=${p.remaining};t=${p.reset}`).join(", "),
		"RateLimit-Limit": String(tightest.quota),
		"RateLimit-Remaining": String(tightest.remaining),
		"RateLimit-Reset": String(tightest.reset),
	};
}
