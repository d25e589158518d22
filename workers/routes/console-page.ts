import type { Context } from "hono";
import type { Api, HonoEnv } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { CONSOLE_CSP as CSP } from "./console-csp.js";

/**
 * GET /console (and its client-side routes): the console's index.html from the static assets
 * (dist-console/console/, built by `npm run build:console`), in the browser's language. The script
 * and style files are served by the assets layer before the Worker runs.
 */

const LOCALES = { en: "en", zh: "zh-CN" } as const;
type Locale = (typeof LOCALES)[keyof typeof LOCALES];

/** Chinese when the browser's first listed language is Chinese (or the user chose it), English otherwise. */
export function consoleLocale(acceptLanguage: string | undefined, chosen: string | undefined): Locale {
	if (chosen === "en" || chosen === "zh-CN") return chosen;
	const first = (acceptLanguage ?? "").split(",")[0]?.trim().toLowerCase() ?? "";
	return first === "zh" || first.startsWith("zh-") ? LOCALES.zh : LOCALES.en;
}

/** What the page says before its script runs (and without script), in both languages. */
const SHELL: Record<Locale, { title: string; loading: string; noscript: string }> = {
	en: {
		title: "Warbler console",
		loading: "Loading the Warbler console…",
		noscript: "The Warbler console needs JavaScript.",
	},
	"zh-CN": {
		title: "Warbler 控制台",
		loading: "正在加载 Warbler 控制台…",
		noscript: "Warbler 控制台需要启用 JavaScript。",
	},
};

async function page(c: Context<HonoEnv>): Promise<Response> {
	// On Cloudflare the assets layer serves files before the Worker runs; the local runtime reaches them
	// through the binding (scripts/static-files.mjs). A file neither has is missing, not a page of the app.
	if (c.req.path.startsWith("/console/assets/")) {
		const file = await c.env.ASSETS.fetch(c.req.raw);
		if (file.ok) return file;
		await file.body?.cancel();
		throw new AppError("not_found", `No such file ${c.req.path}.`);
	}
	const res = await c.env.ASSETS.fetch(new URL("/console/index.html", c.req.url));
	if (!res.ok) {
		await res.body?.cancel();
		return c.text("The console is not built: run `npm run build:console`.", 503);
	}
	const locale = consoleLocale(
		c.req.header("accept-language"),
		/warbler_locale=([\w-]+)/.exec(c.req.header("cookie") ?? "")?.[1],
	);
	const shell = SHELL[locale];
	// Whether a session cookie came with the page (not whether it is valid): without one the console
	// shows sign-in at once instead of asking GET /v1/console/session for a certain 401.
	const hasSession = /(?:^|;\s*)warbler_session=/.test(c.req.header("cookie") ?? "");
	const html = (await res.text())
		.replace(/<html lang="[^"]*"/, `<html lang="${locale}"`)
		.replace(
			/<title>[^<]*<\/title>/,
			`<title>${shell.title}</title><meta name="warbler-session" content="${hasSession ? "1" : "0"}">`,
		)
		.replace(
			'<div id="app"></div>',
			`<div id="app"><p class="boot">${shell.loading}</p></div><noscript>${shell.noscript} <span lang="en">English</span> · <span lang="zh-CN">简体中文</span></noscript>`,
		);
	return new Response(html, {
		headers: {
			"content-type": "text/html; charset=utf-8",
			"cache-control": "no-store",
			"content-security-policy": CSP,
			"x-content-type-options": "nosniff",
			"referrer-policy": "no-referrer",
			vary: "accept-language, cookie",
		},
	});
}

export function consolePageRoutes(api: Api) {
	api.get("/console", page);
	api.get("/console/*", page);
}
