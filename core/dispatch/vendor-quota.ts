/**
 * Applies the app's vendor quotas (`settings.vendor_quotas`) and default category to one vendor job
 * before anything is sent: transactional messages pass; marketing ones pass only inside the allowed
 * hours and within the per-device daily quota. One settings read per isolate and app (cached
 * briefly) and one call to the app's VendorTokens object per job: nothing per recipient in D1.
 */
import { eq } from "drizzle-orm";
import { messageClass } from "../channels/category.js";
import type { PushTarget } from "../channels/types.js";
import { db } from "../db/client.js";
import { apps } from "../db/schema.js";
import type { VendorResult } from "../ledger/types.js";
import { vendorTokensFor } from "../objects/vendor-tokens.js";
import type { AppSettings } from "../rules/settings.js";
import { quotaDay, windowDecision } from "../rules/vendor-quotas.js";
import type { VendorJob } from "./jobs.js";
import type { PushSpec } from "./push-spec.js";

const SETTINGS_TTL_MS = 10_000;
const settingsCache = new Map<string, { at: number; settings: Promise<AppSettings> }>();

function appSettings(env: Env, appId: string): Promise<AppSettings> {
	const hit = settingsCache.get(appId);
	if (hit && Date.now() - hit.at < SETTINGS_TTL_MS) return hit.settings;
	const settings = db(env)
		.select({ settings: apps.settings })
		.from(apps)
		.where(eq(apps.id, appId))
		.get()
		.then((r) => r?.settings ?? {});
	settingsCache.set(appId, { at: Date.now(), settings });
	settings.catch(() => settingsCache.delete(appId));
	return settings;
}

export type QuotaVerdict =
	/** Send these targets; `counted` are recorded quota_exceeded. */
	| { kind: "send"; targets: PushTarget[]; counted: VendorResult[] }
	/** Outside the allowed hours: enqueue the job again for this instant. */
	| { kind: "hold"; until: Date };

const deviceKey = (t: PushTarget) => `${t.userId}/${t.deviceId}`;

/** Fills in the app's default category and decides which targets may be sent to now. */
export async function applyVendorQuota(env: Env, job: VendorJob, spec: PushSpec, now = new Date()): Promise<QuotaVerdict> {
	const settings = await appSettings(env, job.appId);
	if (spec.options.category === undefined && settings.default_category) spec.options.category = settings.default_category;
	const rule = settings.vendor_quotas?.[job.channel];
	const all: QuotaVerdict = { kind: "send", targets: job.targets, counted: [] };
	if (!rule || messageClass(spec.options.category) !== "marketing") return all;
	const counted = (targets: PushTarget[], reason: string): VendorResult[] =>
		targets.map((t) => ({ userId: t.userId, deviceId: t.deviceId, outcome: "quota_exceeded", reason }));

	const window = windowDecision(now, rule, spec.expiresAt);
	if (window.action === "hold") return { kind: "hold", until: window.until };
	if (window.action === "count") {
		return { kind: "send", targets: [], counted: counted(job.targets, `outside ${job.channel} allowed hours`) };
	}
	const limit = rule.marketing_per_device_per_day;
	if (limit === undefined) return all;
	const admitted = new Set(
		await vendorTokensFor(env, job.appId).admitMarketing({
			channel: job.channel,
			day: quotaDay(now, rule),
			messageId: job.messageId,
			devices: job.targets.map(deviceKey),
			limit,
		}),
	);
	const send = job.targets.filter((t) => admitted.has(deviceKey(t)));
	const over = job.targets.filter((t) => !admitted.has(deviceKey(t)));
	return { kind: "send", targets: send, counted: counted(over, `over the ${limit}/day ${job.channel} marketing quota`) };
}
