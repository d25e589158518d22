export type Scope = "send" | "read" | "manage";
export const ALL_SCOPES: Scope[] = ["send", "read", "manage"];

/** Who is calling: set by the auth middleware. */
export interface Caller {
	kind: "admin" | "app";
	/** For app keys: the app every query is scoped to. */
	appId: string;
	/** "admin" or the API key id, for the audit log. */
	actor: string;
	scopes: Scope[];
}
