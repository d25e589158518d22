// A real Chromium for the console's browser tests, driven by playwright-core. On a fresh machine the
// browser comes from npm (@sparticuz/chromium ships the binary inside the package); a system Chromium
// is used when one is installed. Without --single-process: it breaks a second browser context.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import chromium from "@sparticuz/chromium";
import { type Browser, type BrowserContext, type Page, chromium as playwright } from "playwright-core";

const SYSTEM_CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export async function launchBrowser(): Promise<Browser> {
	const system = SYSTEM_CHROMIUM.find((p) => existsSync(p));
	if (system) {
		return playwright.launch({
			executablePath: system,
			headless: true,
			args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
		});
	}
	return playwright.launch({
		executablePath: await chromium.executablePath(),
		args: chromium.args.filter((a) => a !== "--single-process"),
		headless: true,
	});
}

/** Where screenshots of every page go (under .wrangler/, which git ignores), for a person to look at. */
export const SCREENSHOTS = join(process.cwd(), ".wrangler", "console-screenshots");
mkdirSync(SCREENSHOTS, { recursive: true });

/** What went wrong in a page: uncaught errors, console errors and failed requests, minus the expected ones. */
export interface Problems {
	list: string[];
	/** Requests allowed to fail (e.g. the old cookie after sign-out), by a substring of "<status> <url>". */
	allow: string[];
}

export async function newConsolePage(
	browser: Browser,
	locale: "en" | "zh-CN",
): Promise<{ context: BrowserContext; page: Page; problems: Problems }> {
	const context = await browser.newContext({ locale, timezoneId: "UTC", viewport: { width: 1280, height: 900 } });
	const page = await context.newPage();
	const problems: Problems = { list: [], allow: [] };
	const allowed = (text: string) => problems.allow.some((a) => text.includes(a));
	page.on("pageerror", (e) => problems.list.push(`uncaught: ${e.message}`));
	page.on("console", (m) => {
		// Chromium logs every HTTP error answer as "Failed to load resource"; those are judged by the response handler.
		if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.list.push(`console: ${m.text()}`);
	});
	page.on("requestfailed", (r) => {
		const text = `failed ${r.url()} ${r.failure()?.errorText}`;
		// A WebSocket or fetch the page abandoned on navigation is not a failure of the app.
		if (!/ERR_ABORTED/.test(text) && !allowed(text)) problems.list.push(text);
	});
	page.on("response", (r) => {
		const text = `${r.status()} ${r.request().method()} ${r.url()}`;
		if (r.status() >= 400 && !allowed(text)) problems.list.push(`response: ${text}`);
	});
	return { context, page, problems };
}
