import { jsonCodec } from "../util/json-codec.js";
import type { AutomationMessageBody } from "./schema.js";
import type { AutomationEvent } from "./send.js";

/** The JSON columns of the automation timer's `pending` table: a waiting send's message, event properties, cancel_on. */
export const PendingJson = {
	message: jsonCodec<AutomationMessageBody>(),
	properties: jsonCodec<Record<string, unknown>>(),
	cancelOn: jsonCodec<string[]>(),
};

/** One automation run started by an event: what the timer needs to send it later. */
export interface TimerTrigger {
	automationId: string;
	delaySeconds: number;
	cancelOn: string[];
	oncePerSeconds: number | null;
	message: AutomationMessageBody;
}

export interface TimerItem {
	event: AutomationEvent;
	/** Automations this event triggers that need the timer (a delay, cancel_on or once-per-user). */
	triggers: TimerTrigger[];
	/** The event's name is in some enabled automation's `cancel_on`. */
	cancels: boolean;
}

export interface IngestResult {
	/** Runs started (sent now or waiting). */
	triggered: number;
	/** Waiting runs this batch's cancelling events dropped. */
	canceled: number;
	/** Triggers ignored: once-per-user window, one already waiting, or an earlier-arrived cancelling event. */
	suppressed: number;
}
