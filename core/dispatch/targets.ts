import { and, eq, inArray, ne } from "drizzle-orm";
import { channelFor } from "../channels/registry.js";
import type { PushTarget, VendorChannelId } from "../channels/types.js";
import { db } from "../db/client.js";
import { devices } from "../db/schema.js";
import type { VendorJob } from "./jobs.js";

/** Active vendor devices of these users, grouped by channel. Disabled tokens are never sent to again. */
export async function vendorTargets(env: Env, appId: string, userIds: readonly string[]) {
	const byChannel = new Map<VendorChannelId, PushTarget[]>();
	const d = db(env);
	for (let i = 0; i < userIds.length; i += 90) {
		const rows = await d
			.select({
				userId: devices.userId,
				id: devices.id,
				channel: devices.channel,
				token: devices.token,
				subscription: devices.subscription,
			})
			.from(devices)
			.where(
				and(
					eq(devices.appId, appId),
					inArray(devices.userId, userIds.slice(i, i + 90)),
					ne(devices.channel, "ws"),
					eq(devices.status, "active"),
				),
			)
			.all();
		for (const r of rows) {
			const channel = r.channel as VendorChannelId;
			const target: PushTarget = { userId: r.userId, deviceId: r.id };
			if (r.token) target.token = r.token;
			if (r.subscription) target.subscription = r.subscription;
			const list = byChannel.get(channel) ?? [];
			list.push(target);
			byChannel.set(channel, list);
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
