import { meterFor } from "../objects/meter.js";

/**
 * Counting for apps whose plan decides nothing (no rate limit, no monthly quota on sends): such a
 * request needs no answer from the meter, so the isolate adds it up and hands the sum over at most
 * once per `BATCH_MS` per app, after the response. A busy app then costs its meter one call per
 * second per isolate instead of one per request.
 */
export const BATCH_MS = 1_000;

interface Batch {
	at: number;
	api: number;
	messages: number;
}

const batches = new Map<string, Batch>();

/**
 * Adds to the app's batch; the first addition starts the timer whose flush `keepAlive` (the
 * request's `waitUntil`) keeps running after the response.
 */
export function countLater(
	env: Env,
	appId: string,
	api: number,
	messages: number,
	keepAlive: (p: Promise<unknown>) => void,
): void {
	const open = batches.get(appId);
	if (open) {
		open.api += api;
		open.messages += messages;
		return;
	}
	const batch: Batch = { at: Date.now(), api, messages };
	batches.set(appId, batch);
	keepAlive(
		(async () => {
			await new Promise((resolve) => setTimeout(resolve, BATCH_MS));
			batches.delete(appId);
			if (batch.api === 0 && batch.messages === 0) return;
			try {
				await meterFor(env, appId).count(batch.at, batch.api, batch.messages);
			} catch (err) {
				console.error(`usage count for ${appId} lost: ${err instanceof Error ? err.message : String(err)}`);
			}
		})(),
	);
}
