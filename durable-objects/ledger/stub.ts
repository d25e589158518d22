import type { MessageLedger } from "./message-ledger.js";

/** One ledger per message: its status, counts and recipients. */
export function ledgerFor(env: Env, appId: string, messageId: string): DurableObjectStub<MessageLedger> {
	const ns = env.LEDGER as DurableObjectNamespace<MessageLedger>;
	return ns.get(ns.idFromName(`${appId}/${messageId}`));
}
