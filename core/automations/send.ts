import { type Accepted, acceptMessage } from "../messages/accept.js";
import { emitWebhookEvent } from "../webhooks/emit.js";
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
export async function sendAutomation(
	env: Env,
	appId: string,
	automationId: string,
	event: AutomationEvent,
	message: AutomationMessageBody,
): Promise<Accepted> {
	const accepted = await acceptMessage(
		env,
		appId,
		{
			...message,
			audience: { users: [event.userId] },
			options: { ...(message.options ?? {}), idempotency_key: triggerKey(automationId, event.userId, event.id) },
		},
		{ event: { name: event.name, properties: event.properties ?? {} }, source: { kind: "automation", id: automationId } },
	);
	// A replayed trigger (the same event again) sent nothing new and tells nobody again.
	if (!accepted.replayed) {
		await emitWebhookEvent(env, appId, "automation.triggered", {
			automation_id: automationId,
			user_id: event.userId,
			event: { id: event.id, name: event.name },
			message_id: accepted.id,
		});
	}
	return accepted;
}
