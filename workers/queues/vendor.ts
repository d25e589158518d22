import { and, eq } from "drizzle-orm";
import { vendorEndpoints } from "../../core/channels/endpoints.js";
import { channelFor } from "../../core/channels/registry.js";
import type { PushTarget, SendOutcome } from "../../core/channels/types.js";
import { loadCredentials } from "../../core/credentials/store.js";
import { db } from "../../core/db/client.js";
import { devices } from "../../core/db/schema.js";
import { type DispatchJob, type FallbackJob, MAX_VENDOR_ATTEMPTS, type VendorJob } from "../../core/dispatch/jobs.js";
import { loadPushSpec, type PushSpec } from "../../core/dispatch/push-spec.js";
import { dispatchToVendors } from "../../core/dispatch/targets.js";
import { applyVendorQuota } from "../../core/dispatch/vendor-quota.js";
import { renderFor, userProfiles } from "../../core/fanout/deliver.js";
import { vendorReport } from "../../core/ledger/ledger.js";
import type { VendorResult } from "../../core/ledger/types.js";
import { ledgerFor } from "../../core/objects/ledger.js";
import { accessTokens } from "../../core/objects/vendor-tokens.js";
import { isReceiptChannel, type ReceiptKeys, receiptUrl } from "../../core/receipts/token.js";
import { errorText } from "../../core/util/errors.js";
import { emitWebhookEvent } from "../../core/webhooks/emit.js";
import { emitVendorResults } from "../../core/webhooks/recipient-events.js";

/** Thrown when every target of a job asked to be retried: the queue retries the whole job. */
class RetryJob extends Error {
	constructor(
		/** The vendor's Retry-After, 0 when it gave none. */
		readonly delaySeconds: number,
		reason: string,
	) {
		super(reason);
	}
}

export async function handleVendorBatch(batch: MessageBatch<DispatchJob>, env: Env): Promise<void> {
	await Promise.all(
		batch.messages.map(async (m) => {
			try {
				if (m.body.kind === "fallback") await fallback(env, m.body);
				else await sendVendorJob(env, m.body);
				m.ack();
			} catch (err) {
				// Exponential in the queue's own attempt count (1, 2, 4, 8 s…), never sooner than the vendor's Retry-After.
				const delay = Math.max(err instanceof RetryJob ? err.delaySeconds : 0, backoff(m.attempts - 1));
				console.error(`vendor ${m.body.kind} ${m.body.messageId} attempt ${m.attempts} failed: ${errorText(err)}`);
				m.retry({ delaySeconds: delay });
			}
		}),
	);
}

/** What keeps failing lands here: every target of the job is recorded failed with the last reason. */
export async function handleVendorDeadLetters(batch: MessageBatch<DispatchJob>, env: Env): Promise<void> {
	for (const m of batch.messages) {
		const job = m.body;
		try {
			if (job.kind === "vendor") {
				const reason = "the vendor kept failing: queue retries exhausted";
				await ledgerFor(env, job.appId, job.messageId).recordVendor(
					job.channel,
					job.targets.map((t) => ({ userId: t.userId, deviceId: t.deviceId, outcome: "failed", reason })),
				);
			}
			m.ack();
		} catch (err) {
			console.error(`vendor dead letter ${job.messageId}: ${errorText(err)}`);
			m.retry({ delaySeconds: 60 });
		}
	}
}

async function fallback(env: Env, job: FallbackJob) {
	await dispatchToVendors(env, job.appId, job.messageId, [job.userId]);
}

/** Cloudflare Queues delay a message by at most 12 hours: a longer hold re-checks then. */
const MAX_QUEUE_DELAY_S = 12 * 3600;

async function sendVendorJob(env: Env, queued: VendorJob) {
	const ledger = ledgerFor(env, queued.appId, queued.messageId);
	// Independent reads side by side: a batch of jobs waits for its slowest, so a job's latency is throughput.
	const [spec, status, creds] = await Promise.all([
		loadPushSpec(env, queued.appId, queued.messageId),
		ledger.status(),
		loadCredentials(env, queued.appId, queued.channel),
	]);
	if (!spec || spec.expiresAt <= Date.now()) {
		const reason = spec ? "expired before it could be sent" : "message not found";
		await ledger.recordVendor(queued.channel, failAll(queued.targets, reason));
		return;
	}
	if (status === "recalled") return;
	const channel = channelFor(queued.channel);
	if (!creds) {
		await ledger.recordVendor(queued.channel, failAll(queued.targets, `no ${queued.channel} credentials configured`));
		return;
	}
	// Vendor quotas and allowed hours (settings.vendor_quotas) before anything goes out.
	const quota = await applyVendorQuota(env, queued, spec);
	if (quota.kind === "hold") {
		const delaySeconds = Math.min(MAX_QUEUE_DELAY_S, Math.max(1, Math.ceil((quota.until.getTime() - Date.now()) / 1000)));
		await env.VENDOR.send(queued, { delaySeconds });
		return;
	}
	if (quota.counted.length) await ledger.recordVendor(queued.channel, quota.counted);
	if (quota.targets.length === 0) return;
	const job = quota.targets.length === queued.targets.length ? queued : { ...queued, targets: quota.targets };
	const ctx = {
		credentials: creds,
		endpoints: vendorEndpoints(env),
		tokens: accessTokens(env, job.appId),
		fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
	};
	// Vendor receipts (core/receipts/): one HMAC per job, not per target; off without PUBLIC_BASE_URL.
	const receipts = await receiptOptions(env, job);
	const options = receipts ? { ...spec.options, ...receipts } : spec.options;
	if (!spec.template) {
		await settle(env, job, await channel.send(channel.build(spec.content, options, creds), job.targets, ctx), !!receipts);
		return;
	}
	// A template message renders per recipient: one send per user, each with their own payload.
	const profiles = await userProfiles(env, job.appId, [...new Set(job.targets.map((t) => t.userId))]);
	const outcomes = await Promise.all(
		job.targets.map(async (target) => {
			const content = renderFor(spec, target.userId, profiles.get(target.userId));
			const [outcome] = await channel.send(channel.build(content, options, creds), [target], ctx);
			return outcome ?? { kind: "retry" as const, reason: "no outcome from sender" };
		}),
	);
	await settle(env, job, outcomes, !!receipts);
}

/** The receipt fields of this job's pushes, when the deployment takes receipts for its channel. */
async function receiptOptions(env: Env, job: VendorJob): Promise<{ receiptUrl: string; receipts: true } | undefined> {
	if (!isReceiptChannel(job.channel)) return undefined;
	const url = await receiptUrl(env as unknown as ReceiptKeys, job.channel, job.appId);
	return url ? { receiptUrl: url, receipts: true } : undefined;
}

/** Records final outcomes, disables dead tokens, and re-queues only the targets that can recover. */
async function settle(env: Env, job: VendorJob, outcomes: SendOutcome[], keepTokens = false) {
	const final: VendorResult[] = [];
	const retry: PushTarget[] = [];
	let retryAfter = 0;
	let lastRetryReason = "";
	const invalid: { target: PushTarget; reason: string }[] = [];
	job.targets.forEach((target, i) => {
		const o = outcomes[i] ?? { kind: "retry", reason: "no outcome from sender" };
		const base = { userId: target.userId, deviceId: target.deviceId };
		// With receipts on, the ledger keeps the token so a receipt (which names tokens) finds the device.
		if (o.kind === "ok") final.push({ ...base, outcome: "sent", ...(keepTokens && target.token ? { token: target.token } : {}) });
		else if (o.kind === "invalid_token") {
			final.push({ ...base, outcome: "invalid_token", reason: o.reason });
			invalid.push({ target, reason: o.reason });
		} else if (o.kind === "rejected") final.push({ ...base, outcome: "failed", reason: o.reason });
		else if (o.kind === "quota_exceeded") final.push({ ...base, outcome: "quota_exceeded", reason: o.reason });
		else {
			retry.push(target);
			retryAfter = Math.max(retryAfter, o.afterSeconds ?? 0);
			lastRetryReason = o.reason;
		}
	});
	if (invalid.length) {
		await disableDevices(env, job.appId, invalid);
		// One webhook per push job, whatever the number of dead tokens in it.
		await emitWebhookEvent(env, job.appId, "device.invalidated", {
			message_id: job.messageId,
			channel: job.channel,
			devices: invalid.map(({ target, reason }) => ({
				user_id: target.userId,
				device_id: target.deviceId,
				reason: reason.slice(0, 300),
			})),
		});
	}
	const attempt = job.attempt + 1;
	if (retry.length === job.targets.length && final.length === 0) {
		// Nothing went through: let the queue retry the whole job (its dead-letter queue ends it).
		throw new RetryJob(retryAfter, lastRetryReason);
	}
	if (final.length) {
		await ledgerFor(env, job.appId, job.messageId).recordVendorReport(job.channel, await vendorReport(final));
		await emitVendorResults(env, job.appId, job.messageId, job.channel, final);
	}
	if (!retry.length) return;
	if (attempt >= MAX_VENDOR_ATTEMPTS) {
		await ledgerFor(env, job.appId, job.messageId).recordVendor(job.channel, failAll(retry, lastRetryReason));
		return;
	}
	await env.VENDOR.send({ ...job, targets: retry, attempt } satisfies VendorJob, {
		delaySeconds: Math.max(retryAfter, backoff(attempt)),
	});
}

async function disableDevices(env: Env, appId: string, invalid: { target: PushTarget; reason: string }[]) {
	const d = db(env);
	const now = new Date().toISOString();
	// The vendor said the token is gone: the device is never sent to again and says why.
	await Promise.all(
		invalid.map(({ target, reason }) =>
			d
				.update(devices)
				.set({ status: "invalid", lastError: reason.slice(0, 300), updatedAt: now })
				.where(and(eq(devices.appId, appId), eq(devices.userId, target.userId), eq(devices.id, target.deviceId))),
		),
	);
}

function failAll(targets: PushTarget[], reason: string): VendorResult[] {
	return targets.map((t) => ({ userId: t.userId, deviceId: t.deviceId, outcome: "failed", reason }));
}

function backoff(attempt: number) {
	return Math.min(2 ** attempt, 300);
}

export type { PushSpec };
