import { channelFor } from "../channels/registry.js";
import type { PushTarget, VendorChannelId, WebPushSubscriptionJson } from "../channels/types.js";
import { chunks } from "../util/chunks.js";
import type { VendorJob } from "./jobs.js";

/**
 * Users per statement. The ids travel as one JSON parameter (`json_each`), not one parameter each
 * (D1 binds at most 100): a fan-out job's 1,000 users are one statement instead of twelve. Bounded
 * so the parameter stays well under D1's 2 MB value limit whatever the id length (at most 128).
 */
const USERS_PER_STATEMENT = 1_000;

type DeviceRow = [userId: string, id: string, channel: string, token: string | null, subscription: string | null];

/**
 * Active vendor devices of these users, grouped by channel. Disabled tokens are never sent to again.
 * Plain statements with array rows: a fan-out job reads up to 1,000 users' devices here, and
 * drizzle's per-row mapping cost more CPU than the query (measured, bench:vendors). The primary key
 * (app_id, user_id, id) serves each user id of the list.
 */
export async function vendorTargets(env: Env, appId: string, userIds: readonly string[]) {
	const byChannel = new Map<VendorChannelId, PushTarget[]>();
	const results = await Promise.all(
		chunks(userIds, USERS_PER_STATEMENT).map((chunk) =>
			env.DB.prepare(
				`SELECT user_id, id, channel, token, subscription FROM devices
				 WHERE app_id = ? AND user_id IN (SELECT value FROM json_each(?)) AND channel <> 'ws' AND status = 'active'`,
			)
				.bind(appId, JSON.stringify(chunk))
				.raw<DeviceRow>(),
		),
	);
	for (const rows of results) {
		for (const [userId, id, channel, token, subscription] of rows) {
			const target: PushTarget = { userId, deviceId: id };
			if (token) target.token = token;
			if (subscription) target.subscription = JSON.parse(subscription) as WebPushSubscriptionJson;
			const list = byChannel.get(channel as VendorChannelId) ?? [];
			list.push(target);
			byChannel.set(channel as VendorChannelId, list);
		}
	}
	return byChannel;
}

/** A queue message holds at most 128 KB; leave room for the envelope. */
const MAX_JOB_BYTES = 100_000;

/** Splits targets into vendor jobs of at most each channel's batch size and the queue's message size. */
export function vendorJobs(appId: string, messageId: string, byChannel: Map<VendorChannelId, PushTarget[]>): VendorJob[] {
	const jobs: VendorJob[] = [];
	for (const [channel, targets] of byChannel) {
		const maxBatch = channelFor(channel).maxBatch;
		let current: PushTarget[] = [];
		let bytes = 0;
		for (const t of targets) {
			const size = JSON.stringify(t).length + 1;
			if (current.length && (current.length >= maxBatch || bytes + size > MAX_JOB_BYTES)) {
				jobs.push({ kind: "vendor", appId, messageId, channel, targets: current, attempt: 0 });
				current = [];
				bytes = 0;
			}
			current.push(t);
			bytes += size;
		}
		if (current.length) jobs.push({ kind: "vendor", appId, messageId, channel, targets: current, attempt: 0 });
	}
	return jobs;
}

/** Queues the vendor pushes for these users (sendBatch: at most 100 messages and 256 KB per call). */
export async function dispatchToVendors(env: Env, appId: string, messageId: string, userIds: readonly string[]) {
	if (userIds.length === 0) return 0;
	const jobs = vendorJobs(appId, messageId, await vendorTargets(env, appId, userIds));
	let batch: { body: VendorJob }[] = [];
	let bytes = 0;
	for (const job of jobs) {
		const size = JSON.stringify(job).length;
		if (batch.length === 100 || bytes + size > 200_000) {
			await env.VENDOR.sendBatch(batch);
			batch = [];
			bytes = 0;
		}
		batch.push({ body: job });
		bytes += size;
	}
	if (batch.length) await env.VENDOR.sendBatch(batch);
	return jobs.length;
}
