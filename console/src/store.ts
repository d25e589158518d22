import { useEffect, useState } from "preact/hooks";
import type { Session } from "./api.js";
import { onLocaleChange } from "./i18n/index.js";

/** A value many components read; setting it re-renders them. */
export function store<T>(initial: T) {
	let value = initial;
	const listeners = new Set<() => void>();
	return {
		get: () => value,
		set(next: T) {
			value = next;
			for (const fn of listeners) fn();
		},
		use(): T {
			const [, bump] = useState(0);
			useEffect(() => {
				const fn = () => bump((n) => n + 1);
				listeners.add(fn);
				return () => {
					listeners.delete(fn);
				};
			}, []);
			return value;
		},
	};
}

/** Re-renders the caller when the language changes. */
export function useLocale() {
	const [, bump] = useState(0);
	useEffect(() => onLocaleChange(() => bump((n) => n + 1)), []);
}

/** The console's own paths: /console/<page>[/<id>]. */
export const BASE = "/console";
export const route = store(location.pathname);

export function navigate(path: string) {
	const full = `${BASE}${path}`;
	if (full !== location.pathname + location.search) history.pushState(null, "", full);
	route.set(location.pathname);
}

window.addEventListener("popstate", () => route.set(location.pathname));

/** The page and the rest of the path after /console/. */
export function parseRoute(pathname: string): { page: string; rest: string[] } {
	const parts = pathname
		.replace(/^\/console\/?/, "")
		.split("/")
		.filter(Boolean)
		.map(decodeURIComponent);
	return { page: parts[0] ?? "overview", rest: parts.slice(1) };
}

/** The signed-in session: undefined while unknown, null when signed out. */
export const session = store<Session | null | undefined>(undefined);
/** The app an admin session works on (X-Warbler-App); app-key sessions have theirs. */
export const adminApp = store<string | null>(null);

/** The app the console works on now. */
export function currentAppId(): string | null {
	const s = session.get();
	return s?.kind === "app" ? s.app_id : adminApp.get();
}
