import { and, eq } from "drizzle-orm";
import { db } from "../db/client.js";
import { messages } from "../db/schema.js";
import { dispatchToVendors } from "../dispatch/targets.js";
import { audiencePage } from "../messages/audience.js";
import type { DeliverySpec } from "../messages/record.js";
import { ledgerFor } from "../objects/ledger.js";
import { chunks } from "../util/chunks.js";
import { errorText } from "../util/errors.js";
import { deliverToShards, recordJob, usersForVendors } from "./deliver.js";
import { DELIVER_JOB_USERS, type DeliverJob, type FanoutJob, type ResolveJob } from "./jobs.js";

/**
 * Paging a broadcast's audience into deliver jobs. The same paging runs in two places: in the queue
 * consumer (big or throttled broadcasts) and, for an unthrottled broadcast sent through the API,
 * right after the 202 in the same Worker invocation (no queue hop before the first delivery). Both
 * produce the same jobs with the same keys and parts, so a re-drive of either repeats nothing.
 */

const RESOLVE_PAGE = 1000;
/** Users per unthrottled deliver job, and the bytes of their ids (a queue message holds 128 KB). */
const MAX_JOB_USERS = 1000;
const MAX_JOB_BYTES = 96 * 1024;
const MAX_SEND_BATCH = 100;
/** The queue's longest delay; a throttled broadcast longer than this sends its tail at that delay. */
const MAX_DELAY_SECONDS = 12 * 3600;
/** Deliver jobs run at once by the inline resolver (each is already one parallel call per shard). */
const INLINE_JOBS_AT_ONCE = 4;

/** Where the jobs of one page go, and where the rest of the audience goes when time runs out. */
interface JobSink {
	/** The broadcast's pacing from its `first` job on (read per page: the queue path only). */
	pace(first: number): Promise<Pace | undefined>;
	jobs(jobs: DeliverJob[], pace?: Pace): Promise<void>;
	continueLater(job: ResolveJob): Promise<void>;
}

interface Pace {
	first: number;
	perMinute: number;
}

/**
 * Pages the audience from `job.after`, handing each page's deliver jobs to `sink`; after `budgetMs`
 * the rest is handed over as a continuation job. Records the number of jobs when the audience ends.
 */
async function resolveAudience(env: Env, job: ResolveJob, sink: JobSink, budgetMs: number): Promise<void> {
	const ledger = ledgerFor(env, job.appId, job.messageId);
	await ledger.startFanout();
	const deadline = Date.now() + budgetMs;
	const page = (from: string | null) => audiencePage(env.DB, job.appId, job.audience, from, RESOLVE_PAGE);
	let after = job.after;
	let jobs = job.jobsSoFar;
	let next = page(after);
	for (;;) {
		const ids = await next;
		// The next page is read while this one is delivered.
		if (ids.length === RESOLVE_PAGE) {
			next = page(ids.at(-1) ?? after);
			next.catch(() => undefined); // awaited on the next turn; unused if time runs out first
		}
		const pace = await sink.pace(jobs);
		const deliverJobs: DeliverJob[] = [];
		// A throttled broadcast is paced in jobs of 100; any other goes in as few jobs as fit a queue message.
		for (const users of pace ? chunks(ids, DELIVER_JOB_USERS) : packed(ids)) {
			const part = jobs + deliverJobs.length + 1;
			deliverJobs.push({ kind: "deliver", appId: job.appId, messageId: job.messageId, jobKey: `u:${users[0]}`, part, users });
		}
		await sink.jobs(deliverJobs, pace);
		jobs += deliverJobs.length;
		if (ids.length < RESOLVE_PAGE) {
			await ledger.expectJobs(jobs);
			return;
		}
		after = ids.at(-1) ?? after;
		if (Date.now() > deadline) break;
	}
	await sink.continueLater({ ...job, after, jobsSoFar: jobs });
}

/** The queue consumer's resolve step: jobs go to the queue (paced if throttled). */
export function resolveToQueue(env: Env, job: ResolveJob, budgetMs: number): Promise<void> {
	return resolveAudience(
		env,
		job,
		{
			pace: (first) => throttleOf(env, job, first),
			jobs: (jobs, pace) => sendAll(env, jobs, pace),
			continueLater: (next) => sendAll(env, [next]),
		},
		budgetMs,
	);
}

/**
 * Resolves and delivers an unthrottled broadcast in this invocation: each page's jobs go straight to
 * the shards. What cannot finish here goes to the queue: a job whose shard stayed unreachable (the
 * queue retries it), the rest of an audience that outlasts `budgetMs`, or everything if paging
 * itself fails. The ledger already holds the resolve job, so even a crash here loses nothing.
 */
export async function resolveInline(env: Env, spec: DeliverySpec, job: ResolveJob, budgetMs: number): Promise<void> {
	// Jobs stay in flight across pages (the next page's jobs start while this page's run), so a
	// shard always has the next call waiting: as many in flight as the queue consumer would run.
	const inFlight = new Set<Promise<void>>();
	const run = (j: DeliverJob) => {
		const p = runDeliverJob(env, spec, j)
			.then((ok) => (ok ? undefined : sendAll(env, [j])))
			.catch(async (err: unknown) => {
				console.error(`inline deliver ${j.jobKey} of ${job.messageId} handed to the queue:`, errorText(err));
				await sendAll(env, [j]);
			})
			.finally(() => inFlight.delete(p));
		inFlight.add(p);
		return p;
	};
	try {
		await resolveAudience(
			env,
			job,
			{
				pace: async () => undefined,
				jobs: async (jobs) => {
					for (const j of jobs) {
						while (inFlight.size >= INLINE_JOBS_AT_ONCE) await Promise.race(inFlight);
						run(j);
					}
				},
				continueLater: (next) => sendAll(env, [next]),
			},
			budgetMs,
		);
	} catch (err) {
		console.error(`inline fan-out of ${job.messageId} handed to the queue:`, errorText(err));
		await env.FANOUT.send(job);
	}
	await Promise.all(inFlight);
}

/**
 * One deliver job with its message's spec: into the shards, vendor pushes for whoever needs one,
 * recorded in the ledger. False (and nothing recorded) when some shard stayed unreachable.
 */
export async function runDeliverJob(env: Env, spec: DeliverySpec, job: DeliverJob): Promise<boolean> {
	const results = await deliverToShards(env, spec, job.users, job.part);
	if (results.some((r) => r.outcome === "failed")) return false;
	await dispatchToVendors(env, spec.appId, spec.messageId, usersForVendors(spec, results));
	await recordJob(env, spec, job.jobKey, results);
	return true;
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

/**
 * Sends jobs, paced when `pace` is given: job i of the broadcast (counting from `pace.first`) waits
 * i × 100 / rate minutes, so recipients receive it at about `throttle_per_minute`.
 */
async function sendAll(env: Env, jobs: FanoutJob[], pace?: Pace) {
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

async function throttleOf(env: Env, job: ResolveJob, first: number): Promise<Pace | undefined> {
	const row = await db(env)
		.select({ options: messages.options })
		.from(messages)
		.where(and(eq(messages.appId, job.appId), eq(messages.id, job.messageId)))
		.get();
	const perMinute = row?.options.throttle_per_minute;
	return perMinute ? { first, perMinute } : undefined;
}
