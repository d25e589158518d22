import type { JobResult, VendorResult } from "../ledger/types.js";
import { errorText } from "../util/errors.js";
import { emitWebhookEvent } from "./emit.js";
import { wantsEvent } from "./endpoints-cache.js";

/**
 * Recipient-level message events for webhooks (opt-in). Each function first asks whether any
 * endpoint wants the event (an isolate cache), so an app without webhooks pays no per-recipient
 * work; one webhook carries every recipient of one job (up to MAX_RECIPIENTS_PER_EVENT). Never throws.
 */

/** A recipient-level webhook carries at most this many recipients; a bigger job sends several. */
export const MAX_RECIPIENTS_PER_EVENT = 1_000;

/** `message.delivered` / `message.failed` for one delivery job's inbox results (WebSocket, inbox). */
export function emitJobResults(env: Env, appId: string, messageId: string, results: readonly JobResult[]): Promise<void> {
	return guarded(`job results of ${messageId}`, () => jobResults(env, appId, messageId, results));
}

async function jobResults(env: Env, appId: string, messageId: string, results: readonly JobResult[]): Promise<void> {
	if (results.length === 0) return;
	const [delivered, failed] = await Promise.all([
		wantsEvent(env, appId, "message.delivered"),
		wantsEvent(env, appId, "message.failed"),
	]);
	if (delivered) {
		const users = results
			.filter((r) => r.outcome === "delivered" && !r.duplicate)
			.map((r) => ({ user_id: r.userId, channel: "websocket" }));
		await emitRecipients(env, appId, "message.delivered", messageId, users);
	}
	if (failed) {
		const users = results
			.filter((r) => r.outcome === "failed")
			.map((r) => ({ user_id: r.userId, channel: "inbox", reason: r.reason ?? null }));
		await emitRecipients(env, appId, "message.failed", messageId, users);
	}
}

/** `message.delivered` / `message.failed` for one vendor push job's final outcomes. */
export function emitVendorResults(
	env: Env,
	appId: string,
	messageId: string,
	channel: string,
	results: readonly VendorResult[],
): Promise<void> {
	return guarded(`vendor results of ${messageId}`, () => vendorResults(env, appId, messageId, channel, results));
}

async function vendorResults(env: Env, appId: string, messageId: string, channel: string, results: readonly VendorResult[]) {
	if (results.length === 0) return;
	const [delivered, failed] = await Promise.all([
		wantsEvent(env, appId, "message.delivered"),
		wantsEvent(env, appId, "message.failed"),
	]);
	if (delivered) {
		const sent = results.filter((r) => r.outcome === "sent").map((r) => ({ user_id: r.userId, device_id: r.deviceId, channel }));
		await emitRecipients(env, appId, "message.delivered", messageId, sent);
	}
	if (failed) {
		const bad = results
			.filter((r) => r.outcome !== "sent")
			.map((r) => ({ user_id: r.userId, device_id: r.deviceId, channel, outcome: r.outcome, reason: r.reason ?? null }));
		await emitRecipients(env, appId, "message.failed", messageId, bad);
	}
}

async function emitRecipients(
	env: Env,
	appId: string,
	type: "message.delivered" | "message.failed" | "message.opened" | "message.clicked",
	messageId: string,
	recipients: Record<string, unknown>[],
): Promise<void> {
	for (let i = 0; i < recipients.length; i += MAX_RECIPIENTS_PER_EVENT) {
		await emitWebhookEvent(env, appId, type, { id: messageId, recipients: recipients.slice(i, i + MAX_RECIPIENTS_PER_EVENT) });
	}
}

async function guarded(what: string, work: () => Promise<void>): Promise<void> {
	try {
		await work();
	} catch (err) {
		console.error(`webhook ${what}: ${errorText(err)}`);
	}
}

/** A recipient's first open or click of a message, as a shard saw it. */
export interface Engagement {
	messageId: string;
	userId: string;
	kind: "opened" | "clicked";
	at: number;
}

/**
 * `message.opened` / `message.clicked` for what one shard flush saw: one webhook per message and
 * kind, carrying every recipient of the flush (the shard hands them over at its flush, not per frame).
 */
export function emitEngagements(env: Env, appId: string, items: readonly Engagement[]): Promise<void> {
	return guarded(`engagements of ${appId}`, () => engagements(env, appId, items));
}

async function engagements(env: Env, appId: string, items: readonly Engagement[]): Promise<void> {
	if (items.length === 0) return;
	for (const kind of ["opened", "clicked"] as const) {
		const type = kind === "opened" ? "message.opened" : "message.clicked";
		if (!(await wantsEvent(env, appId, type))) continue;
		const byMessage = new Map<string, Record<string, unknown>[]>();
		for (const e of items) {
			if (e.kind !== kind) continue;
			const list = byMessage.get(e.messageId) ?? [];
			list.push({ user_id: e.userId, at: new Date(e.at).toISOString() });
			byMessage.set(e.messageId, list);
		}
		for (const [messageId, recipients] of byMessage) await emitRecipients(env, appId, type, messageId, recipients);
	}
}
