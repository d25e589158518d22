import type { Caller } from "../auth/caller.js";
import type { Db } from "./client.js";
import { auditLog } from "./schema.js";

/** The audit insert for a management action; callers batch it with the change it records. */
export function auditEntry(db: Db, caller: Caller, appId: string, action: string, target?: string) {
	return db.insert(auditLog).values({ appId, actor: caller.actor, action, target: target ?? null, at: nowIso() });
}

export function nowIso(): string {
	return new Date().toISOString();
}
