/** One ledger per message: its status, counts and recipients. */
export function ledgerFor(env: Env, appId: string, messageId: string) {
	return env.LEDGER.get(env.LEDGER.idFromName(`${appId}/${messageId}`));
}
