import { timeOrderedId } from "../auth/crypto.js";
import type { EventInput } from "../automations/schema.js";
import { db } from "../db/client.js";
import { AppError } from "../errors.js";
import { automationTimerFor } from "../objects/automation-timer.js";
import { parseRfc3339 } from "../rules/time.js";
import { mapBounded } from "../util/bounded.js";
import { claimEventIds } from "./event-ids.js";
import { type AutomationEvent, sendAutomation } from "./send.js";
import { type Automation, automationsFor } from "./store.js";
import type { TimerItem, TimerTrigger } from "./timer.js";
import { matchesWhere } from "./where.js";

/** Sends and timer calls in flight at once for one request (a 1,000-event batch that triggers 2,000 runs takes ~40 s on the local stack). */
const CONCURRENCY = 16;

export interface IntakeResult {
	accepted: number;
	/** Events whose client id was already seen in the last 24 h: nothing was done for them. */
	repeated: number;
	triggered: number;
	eventIds: string[];
}

/** A run that needs no timer: no delay, nothing can cancel it, no per-user rationing. */
function immediate(a: Automation): boolean {
	return !a.delay_seconds && !a.cancel_on?.length && a.once_per_user_within_seconds === undefined;
}

function timerTrigger(a: Automation): TimerTrigger {
	return {
		automationId: a.id,
		delaySeconds: a.delay_seconds ?? 0,
		cancelOn: a.cancel_on ?? [],
		oncePerSeconds: a.once_per_user_within_seconds ?? null,
		message: a.message,
	};
}

/**
 * Matches events against the app's enabled automations (from the isolate cache: no D1 scan per
 * event). Immediate runs are sent here through `acceptMessage`; runs that wait, can be cancelled or
 * are rationed per user go to that user's `AutomationTimer`, as does any event that cancels.
 * When it returns, every run is either accepted or durably waiting.
 */
export async function intakeEvents(env: Env, appId: string, inputs: EventInput[], now = Date.now()): Promise<IntakeResult> {
	const d = db(env);
	// Events the caller named with an id it already sent (a retry) change nothing and trigger nothing.
	const named = inputs.flatMap((e) => (e.id === undefined ? [] : [e.id]));
	const fresh = named.length ? await claimEventIds(d, appId, named, now) : new Set<string>();
	// Each event's id: the caller's, or one minted for it (events without an id are always new).
	const ids = inputs.map((e) => e.id ?? timeOrderedId("evt", now));
	const firstSeen = new Set<string>();
	const taken = inputs.flatMap((e, i) => {
		const id = ids[i] as string;
		if (e.id !== undefined && (!fresh.has(id) || firstSeen.has(id))) return [];
		firstSeen.add(id);
		return [{ ...e, id }];
	});
	const set = await automationsFor(d, appId, now);
	const events: AutomationEvent[] = taken.map((e) => ({
		id: e.id,
		userId: e.user_id,
		name: e.name,
		time: e.time === undefined ? now : (parseRfc3339(e.time)?.getTime() ?? now),
		...(e.properties === undefined ? {} : { properties: e.properties }),
	}));

	const sends: { automation: Automation; event: AutomationEvent }[] = [];
	const perUser = new Map<string, TimerItem[]>();
	for (const event of events) {
		const matched = (set.byEvent.get(event.name) ?? []).filter((a) => matchesWhere(a.trigger.where, event.properties));
		const timed: TimerTrigger[] = [];
		for (const a of matched) {
			if (immediate(a)) sends.push({ automation: a, event });
			else timed.push(timerTrigger(a));
		}
		const cancels = set.cancelNames.has(event.name);
		if (timed.length > 0 || cancels) {
			const items = perUser.get(event.userId) ?? [];
			items.push({ event, triggers: timed, cancels });
			perUser.set(event.userId, items);
		}
	}

	const sent = await mapBounded(sends, CONCURRENCY, async ({ automation, event }) => {
		try {
			await sendAutomation(env, appId, automation.id, event, automation.message);
			return 1;
		} catch (err) {
			// One automation's message being refused (e.g. too large for a vendor) must not fail the batch.
			if (!(err instanceof AppError)) throw err;
			console.error(`automation ${automation.id} event ${event.id}: ${err.code} ${err.message}`);
			return 0;
		}
	});
	const timers = await mapBounded([...perUser], CONCURRENCY, async ([userId, items]) => {
		const r = await automationTimerFor(env, appId, userId).ingest(appId, userId, items);
		return r.triggered;
	});
	const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
	return {
		accepted: inputs.length,
		repeated: inputs.length - taken.length,
		triggered: sum(sent) + sum(timers),
		eventIds: ids,
	};
}
