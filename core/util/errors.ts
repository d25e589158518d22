/** The message of a thrown value, for logs and outcome reasons: an Error's message, anything else as a string. */
export function errorText(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
