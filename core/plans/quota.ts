import type { Caller } from "../auth/caller.js";
import { countOf } from "../db/app-limits.js";
import { db } from "../db/client.js";
import { AppError } from "../errors.js";
import { quotaPolicy } from "../metering/buckets.js";
import { meterFor } from "../objects/meter.js";
import { type TotalLimit, WARNING_SHARE } from "./limits.js";

/**
 * Retry-After of an object quota: objects free up when the app deletes one or its plan changes, not
 * with time. An hour tells clients (the server SDK waits out at most a minute) not to retry soon.
 */
export const OBJECT_QUOTA_RETRY_AFTER_S = 3600;

/**
 * The plan's limit on objects of a kind: at the limit the new object is refused with 429
 * `quota_exceeded` naming it; from 80 % the app's meter sends `quota.warning` (once per limit and
 * maximum). `used` is how many the app has now (the hard-limit check already counted them).
 */
export async function assertPlanRoom(env: Env, caller: Caller, what: TotalLimit, used?: number): Promise<void> {
	const max = caller.app?.plan?.limits[what];
	if (max === undefined) return;
	const n = used ?? (await countOf(db(env), caller.appId, what));
	const meter = meterFor(env, caller.appId);
	if (n >= max) {
		await meter.noteTotal(caller.appId, what, n, max);
		throw new AppError(
			"quota_exceeded",
			`This app's plan allows ${max.toLocaleString("en-US")} ${what.replace("_", " ")}; delete one or change the plan first.`,
			[{ path: `limits.${what}`, message: `${n} of ${max} used` }],
			OBJECT_QUOTA_RETRY_AFTER_S,
			[quotaPolicy(what, n, max, OBJECT_QUOTA_RETRY_AFTER_S)],
		);
	}
	if (n + 1 >= max * WARNING_SHARE) await meter.noteTotal(caller.appId, what, n + 1, max);
}
