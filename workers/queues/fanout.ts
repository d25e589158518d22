import { and, eq } from "drizzle-orm";
import { db } from "../../core/db/client.js";
import { messages } from "../../core/db/schema.js";
import { dispatchToVendors } from "../../core/dispatch/targets.js";
import { deliverToShards, recallFromShards, recordJob, usersForVendors } from "../../core/fanout/deliver.js";
import { DELIVER_JOB_USERS, type DeliverJob, type FanoutJob, type ResolveJob } from "../../core/fanout/jobs.js";
import { audiencePage } from "../../core/messages/audience.js";
import { type DeliverySpec, loadDeliverySpec } from "../../core/messages/record.js";
import { ledgerFor } from "../../core/objects/ledger.js";
import { errorText } from "../../core/util/errors.js";

const RESOLVE_PAGE = 1000;
/** One resolve invocation pages this long at most, then hands over to a continuation job. */
const RESOLVE_BUDGET_MS = 10_000;
const MAX_SEND_BATCH = 100;
/** Users per unthrottled deliver job, and the bytes of their ids (a queue message holds 128 KB). */
const MAX_JOB_USERS = 1000;
const MAX_JOB_BYTES = 96 * 1024;

type SpecCache = Map<string, Promise<DeliverySpec | undefined>>;

/** The fan-out queue: every job is idempotent, so a retry (or a duplicate) changes nothing twice. */
export async function handleFanoutBatch(batch: MessageBatch<FanoutJob>, env: Env): Promise<void> {
	const specs: SpecCache = new Map();
	await Promise.all(
		batch.messages.map(async (m) => {
			try {
				await runJob(env, m.body, specs);
				m.ack();
			} catch (err) {
				console.error(`fanout ${m.body.kind} ${m.body.messageId} attempt ${m.attempts} failed:`, errorText(err));
				m.retry({ delaySeconds: Math.min(2 ** m.attempts, 60) });
			}
		}),
	);
}

/**
 * The dead-letter queue: one last attempt that records what it cannot do as failed instead of
 * throwing, so the message's counts and status account for every recipient.
 */
export async function handleDeadLetters(batch: MessageBatch<FanoutJob>, env: Env): Promise<void> {
	const specs: SpecCache = new Map();
	for (const m of batch.messages) {
		const job = m.body;
		try {
			if (job.kind === "deliver") {
				const spec = await cachedSpec(env, specs, job.appId, job.messageId);
				if (spec) {
					const results = await deliverToShards(env, spec, job.users, job.part);
					await dispatchToVendors(env, spec.appId, spec.messageId, usersForVendors(spec, results));
					await recordJob(env, spec, job.jobKey, results);
				}
			} else if (job.kind === "resolve") {
				// The audience could not be paged to the end: finish with what was emitted.
				await ledgerFor(env, job.appId, job.messageId).expectJobs(job.jobsSoFar);
			} else {
				await runJob(env, job, specs);
			}
			m.ack();
		} catch (err) {
			console.error(`dead letter ${job.kind} ${job.messageId}:`, errorText(err));
			m.retry({ delaySeconds: 60 });
		}
	}
}

async function runJob(env: Env, job: FanoutJob, specs: SpecCache): Promise<void> {
	switch (job.kind) {
		case "resolve":
			return resolve(env, job);
		case "deliver":
			return deliver(env, job, specs);
		case "recall":
			return recallFromShards(env, job.appId, job.messageId);
	}
}

async function deliver(env: Env, job: DeliverJob, specs: SpecCache) {
	// A duplicate of a job that already finished: nothing to do (and no vendor push twice).
	if (await ledgerFor(env, job.appId, job.messageId).hasJob(job.jobKey)) return;
	const spec = await cachedSpec(env, specs, job.appId, job.messageId);
	if (!spec) return; // The message row is gone (app erased): nothing to deliver.
	const results = await deliverToShards(env, spec, job.users, job.part);
	const failed = results.filter((r) => r.outcome === "failed");
	if (failed.length) throw new Error(`${failed.length} inboxes unreachable: ${failed[0]?.reason}`);
	await dispatchToVendors(env, spec.appId, spec.messageId, usersForVendors(spec, results));
	await recordJob(env, spec, job.jobKey, results);
}

async function resolve(env: Env, job: ResolveJob) {
	const ledger = ledgerFor(env, job.appId, job.messageId);
	await ledger.startFanout();
	const deadline = Date.now() + RESOLVE_BUDGET_MS;
	let after = job.after;
	let jobs = job.jobsSoFar;
	for (;;) {
		const ids = await audiencePage(env.DB, job.appId, job.audience, after, RESOLVE_PAGE);
		const pace = await throttleOf(env, job, jobs);
		const deliverJobs: DeliverJob[] = [];
		// A throttled broadcast is paced in jobs of 100; any other goes in as few jobs as fit a queue message.
		for (const users of pace ? chunks(ids, DELIVER_JOB_USERS) : packed(ids)) {
			const part = jobs + deliverJobs.length + 1;
			deliverJobs.push({ kind: "deliver", appId: job.appId, messageId: job.messageId, jobKey: `u:${users[0]}`, part, users });
		}
		await sendAll(env, deliverJobs, pace);
		jobs += deliverJobs.length;
		if (ids.length < RESOLVE_PAGE) {
			await ledger.expectJobs(jobs);
			return;
		}
		after = ids.at(-1) ?? after;
		if (Date.now() > deadline) break;
	}
	await env.FANOUT.send({ ...job, after, jobsSoFar: jobs } satisfies ResolveJob);
}

function chunks<T>(xs: T[], n: number): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
	return out;
}

/**
 * User ids in as few deliver jobs as fit: up to MAX_JOB_USERS each (one shard call per shard per job,
 * so one entry row per shard per job), and under a queue message's 128 KB with room to spare.
 */
function packed(ids: string[]): string[][] {
	const out: string[][] = [];
	let current: string[] = [];
	let bytes = 0;
	for (const id of ids) {
		const size = id.length + 3;
		if (current.length > 0 && (current.length >= MAX_JOB_USERS || bytes + size > MAX_JOB_BYTES)) {
			out.push(current);
			current = [];
			bytes = 0;
		}
		current.push(id);
		bytes += size;
	}
	if (current.length) out.push(current);
	return out;
}

/** The queue's longest delay; a throttled broadcast longer than this sends its tail at that delay. */
const MAX_DELAY_SECONDS = 12 * 3600;

/**
 * Sends jobs, paced when `pace` is given: job i of the broadcast (counting from `pace.first`) waits
 * i × 100 / rate minutes, so recipients receive it at about `throttle_per_minute`.
 */
async function sendAll(env: Env, jobs: FanoutJob[], pace?: { first: number; perMinute: number }) {
	const delay = (i: number) =>
		pace ? Math.min(MAX_DELAY_SECONDS, Math.floor((((pace.first + i) * DELIVER_JOB_USERS) / pace.perMinute) * 60)) : 0;
	for (let i = 0; i < jobs.length; i += MAX_SEND_BATCH) {
		await env.FANOUT.sendBatch(
			jobs.slice(i, i + MAX_SEND_BATCH).map((body, j) => {
				const delaySeconds = delay(i + j);
				return delaySeconds > 0 ? { body, delaySeconds } : { body };
			}),
		);
	}
}

async function throttleOf(env: Env, job: ResolveJob, first: number) {
	const row = await db(env)
		.select({ options: messages.options })
		.from(messages)
		.where(and(eq(messages.appId, job.appId), eq(messages.id, job.messageId)))
		.get();
	const perMinute = row?.options.throttle_per_minute;
	return perMinute ? { first, perMinute } : undefined;
}

function cachedSpec(env: Env, specs: SpecCache, appId: string, messageId: string) {
	const key = `${appId}/${messageId}`;
	let spec = specs.get(key);
	if (!spec) {
		spec = loadDeliverySpec(env, appId, messageId);
		specs.set(key, spec);
	}
	return spec;
}
