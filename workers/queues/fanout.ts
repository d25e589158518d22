import { dispatchToVendors } from "../../core/dispatch/targets.js";
import { deliverToShards, recallFromShards, recordJob, usersForVendors } from "../../core/fanout/deliver.js";
import type { DeliverJob, FanoutJob } from "../../core/fanout/jobs.js";
import { resolveToQueue, runDeliverJob } from "../../core/fanout/resolve.js";
import { type DeliverySpec, loadDeliverySpec } from "../../core/messages/record.js";
import { ledgerFor } from "../../core/objects/ledger.js";
import { errorText } from "../../core/util/errors.js";

/** A dead-lettered resolve job starts a new round of retries after this long. */
const DLQ_RESOLVE_DELAY_S = 60;
/** One resolve invocation pages this long at most, then hands over to a continuation job. */
const RESOLVE_BUDGET_MS = 10_000;

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
				// The audience could not be paged (D1 down, say): finishing with what was emitted would
				// silently leave out everyone past the cursor. The job goes back to the queue, cursor kept,
				// for a fresh round of retries; the ledger's watchdog re-drives it too if it stalls.
				console.error(
					`resolve ${job.messageId} after ${job.after ?? "the start"} dead-lettered; queued again in ${DLQ_RESOLVE_DELAY_S} s`,
				);
				await env.FANOUT.send(job, { delaySeconds: DLQ_RESOLVE_DELAY_S });
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
			return resolveToQueue(env, job, RESOLVE_BUDGET_MS);
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
	if (!(await runDeliverJob(env, spec, job))) throw new Error(`shards unreachable for job ${job.jobKey}`);
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
