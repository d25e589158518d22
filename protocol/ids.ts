/** Caller-chosen ids (userId, deviceId, tag names): 1–128 characters of [A-Za-z0-9_.:@-]. */
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function isValidId(value: unknown): value is string {
	return typeof value === "string" && ID_PATTERN.test(value);
}
