import { type Accepted, acceptMessage } from "../messages/accept.js";
import type { AutomationMessageBody } from "./store.js";

/** An event as automations see it: id given at intake, time in epoch ms. */
export interface AutomationEvent {
	id: string;
	userId: string;
	name: string;
	time: number;
	properties?: Record<string, unknown>;
}

/** Each trigger (automation × user × event) sends at most once: retries replay this key. */
export function triggerKey(automationId: string, userId: string, eventId: string): string {
	return `auto:${automationId}:${userId}:${eventId}`;
}

/**
 * Sends an automation's message to the user whose event triggered it, through the one accept path.
 * The event is passed so that template variables such as `{{event.properties.y}}` render from it.
 */
export function sendAutomation(
	env: Env,
	appId: string,
	automationId: string,
	event: AutomationEvent,
	message: AutomationMessageBody,
): Promise<Accepted> {
	return acceptMessage(
		env,
		appId,
		{
			...message,
			audience: { users: [event.userId] },
			options: { ...(message.options ?? {}), idempotency_key: triggerKey(automationId, event.userId, event.id) },
		},
		{ event: { name: event.name, properties: event.properties ?? {} } },
	);
}
