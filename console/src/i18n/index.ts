import { en, type MessageKey } from "./en.js";
import { zhCN } from "./zh-CN.js";

/**
 * Two complete catalogs: zh-CN is typed as a Record over every English key, so a missing translation
 * does not compile. At run time a key absent from the active catalog renders as ⟦key⟧ and is recorded
 * in `window.__warblerMissing` (the browser test fails on any).
 */
export type Locale = "en" | "zh-CN";
export type { MessageKey };

export const LOCALES: { id: Locale; name: string }[] = [
	{ id: "en", name: "English" },
	{ id: "zh-CN", name: "简体中文" },
];

const CATALOGS: Record<Locale, Record<string, string>> = { en, "zh-CN": zhCN };

declare global {
	interface Window {
		__warblerMissing?: string[];
	}
}

let current: Locale = "en";
const listeners = new Set<() => void>();

/** The language the server chose for the page (browser, or the saved choice), else the browser's own. */
export function initialLocale(): Locale {
	const fromPage = document.documentElement.lang;
	if (fromPage === "zh-CN" || fromPage === "en") return fromPage;
	return navigator.language.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function locale(): Locale {
	return current;
}

/** Switches language; the choice is a plain preference cookie (never a credential) so reloads keep it. */
export function setLocale(next: Locale) {
	current = next;
	document.documentElement.lang = next;
	// A plain preference the Worker reads to serve the page in this language (the Cookie Store API is not everywhere yet).
	// biome-ignore lint/suspicious/noDocumentCookie: see above
	document.cookie = `warbler_locale=${next}; Path=/; Max-Age=31536000; SameSite=Strict`;
	for (const fn of listeners) fn();
}

export function onLocaleChange(fn: () => void): () => void {
	listeners.add(fn);
	return () => listeners.delete(fn);
}

/** A catalog string; `{name}` placeholders take `vars`, numbers formatted in the active locale. */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
	let text = CATALOGS[current][key];
	if (text === undefined) {
		window.__warblerMissing ??= [];
		window.__warblerMissing.push(`${current}:${key}`);
		return `⟦${key}⟧`;
	}
	if (vars) {
		text = text.replace(/\{(\w+)\}/g, (m, name: string) => {
			const v = vars[name];
			return v === undefined ? m : typeof v === "number" ? formatNumber(v) : v;
		});
	}
	return text;
}

export function formatNumber(n: number, options?: Intl.NumberFormatOptions): string {
	return new Intl.NumberFormat(current, options).format(n);
}

export function formatMoney(amount: number, currency: string): string {
	return new Intl.NumberFormat(current, { style: "currency", currency }).format(amount);
}

export function formatDate(iso: string | number | null | undefined): string {
	if (iso === null || iso === undefined || iso === "") return "—";
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return String(iso);
	return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "medium" }).format(d);
}

export function formatShortTime(ms: number, interval: "hour" | "day"): string {
	const opts: Intl.DateTimeFormatOptions =
		interval === "day"
			? { month: "short", day: "numeric" }
			: { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" };
	return new Intl.DateTimeFormat(current, opts).format(new Date(ms));
}

/** Axis ticks: hours as HH:mm, days as month and day. */
export function formatAxisTime(ms: number, interval: "hour" | "day"): string {
	const opts: Intl.DateTimeFormatOptions =
		interval === "day" ? { month: "numeric", day: "numeric" } : { hour: "2-digit", minute: "2-digit" };
	return new Intl.DateTimeFormat(current, opts).format(new Date(ms));
}
