import type { QueuedAudience } from "../messages/audience.js";

/** Users per deliver job of a throttled broadcast (its pacing step); unthrottled jobs take up to 1,000. */
export const DELIVER_JOB_USERS = 100;

/** Pages the audience in user-id order and emits deliver jobs. */
export interface ResolveJob {
	kind: "resolve";
	appId: string;
	messageId: string;
	audience: QueuedAudience;
	/** Last user id already emitted; null at the start. */
	after: string | null;
	/** Deliver jobs emitted by earlier resolve steps. */
	jobsSoFar: number;
}

/** Puts one message into the inboxes of a page of users: one shard call per shard they live in. */
export interface DeliverJob {
	kind: "deliver";
	appId: string;
	messageId: string;
	/** Stable across retries and re-emission: the ledger counts each key once. */
	jobKey: string;
	/** The job's number within the message: each shard stores each part once. */
	part: number;
	users: string[];
}

/** Parts of direct sends retried through the queue start here (the direct call itself is part 0). */
export const RETRY_PARTS = 1_000_000;

/** Takes a recalled message out of every shard of the app. */
export interface RecallJob {
	kind: "recall";
	appId: string;
	messageId: string;
}

export type FanoutJob = ResolveJob | DeliverJob | RecallJob;
