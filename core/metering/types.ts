import type { PolicyState } from "./buckets.js";

/** One request or send as the app's meter sees it (core/metering/meter-state.ts). */
export interface AdmitInput {
	appId: string;
	/** The API key; absent for sends that no key made (schedules, automations). */
	keyId?: string;
	now: number;
	/** Counted as an API request (false for schedules and automations). */
	request: boolean;
	perKey?: number;
	perApp?: number;
	/** Present when this is a send: messages it would accept and the monthly quotas that apply. */
	send?: { messages: number; messagesMax?: number; deliveriesMax?: number; mauMax?: number };
}

export type AdmitResult =
	| { ok: true; policies: PolicyState[] }
	| { ok: false; reason: "rate_limited"; policies: PolicyState[]; retryAfter: number }
	| {
			ok: false;
			reason: "quota_exceeded";
			limit: string;
			used: number;
			max: number;
			retryAfter: number;
			policies: PolicyState[];
	  };

/** One UTC day as the meter counted it. */
export interface MeterDay {
	date: string;
	api_requests: number;
	messages_accepted: number;
}

/** Usage that comes from elsewhere (shard rollups), cached by the meter for quota checks. */
export interface ExternalUsage {
	mau: number;
	deliveries: number;
}
