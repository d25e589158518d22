import type { AppPlan } from "../plans/limits.js";
import type { AppSettings } from "../rules/settings.js";

export type Scope = "send" | "read" | "manage";

/** The caller's app as read with its key (one query): what sending needs without another read. */
export interface CallerApp {
	settings: AppSettings;
	shardCount: number;
	/** The app's plan (core/plans/limits.ts); absent: no plan, no limits beyond the hard ones. */
	plan?: AppPlan;
}
export const ALL_SCOPES: Scope[] = ["send", "read", "manage"];

/** Who is calling: set by the auth middleware. */
export interface Caller {
	kind: "admin" | "app";
	/** For app keys: the app every query is scoped to. */
	appId: string;
	/** "admin" or the API key id, for the audit log. */
	actor: string;
	scopes: Scope[];
	/** App keys only: the app's settings and shard count, read with the key on this request. */
	app?: CallerApp;
}
