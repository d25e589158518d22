/**
 * Timers looked up on `globalThis` at call time (so test fake timers apply), with an opaque handle
 * type that fits browsers (number), Node (Timeout) and Workers alike. Only timeouts: a repeating
 * job re-arms itself, so there is one kind of handle to cancel.
 */
export type TimerHandle = { readonly __timer: unique symbol };

interface TimerGlobals {
	setTimeout(fn: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
}

const timers = () => globalThis as unknown as TimerGlobals;

export const after = (ms: number, fn: () => void) => timers().setTimeout(fn, ms) as TimerHandle;

/** Cancels a timer if there is one; returns `undefined` so callers can write `t = cancel(t)`. */
export function cancel(handle: TimerHandle | undefined): undefined {
	if (handle !== undefined) timers().clearTimeout(handle);
	return undefined;
}
