/**
 * Pluggable key-value storage for the resume position and the recent-id set. Sync or async, so
 * `localStorage`, React Native's AsyncStorage, IndexedDB wrappers or a file all fit.
 */
export interface WarblerStorage {
	get(key: string): string | null | undefined | Promise<string | null | undefined>;
	set(key: string, value: string): void | Promise<void>;
}

/** In-memory storage: survives reconnects, not restarts (unless the same object is passed again). */
export function memoryStorage(initial?: Iterable<[string, string]>): WarblerStorage & { readonly map: Map<string, string> } {
	const map = new Map<string, string>(initial);
	return {
		map,
		get: (key) => map.get(key) ?? null,
		set: (key, value) => {
			map.set(key, value);
		},
	};
}

interface LocalStorageLike {
	getItem(key: string): string | null;
	setItem(key: string, value: string): void;
}

/** Browser `localStorage` (or any object with getItem/setItem, e.g. `sessionStorage`). */
export function localStorageStorage(target?: LocalStorageLike): WarblerStorage {
	const ls = target ?? (globalThis as { localStorage?: LocalStorageLike }).localStorage;
	if (!ls) throw new Error("warbler: localStorage is not available here; pass a storage object");
	return {
		get: (key) => ls.getItem(key),
		set: (key, value) => ls.setItem(key, value),
	};
}
