/**
 * The web console in a real Chromium against the local stack: sign-in and its cookie, both languages on
 * every page, compose → a connected WebSocket client, the live device panel, keys, credentials, a
 * schedule firing, the overview chart, sign-out. Screenshots of every page land in
 * .wrangler/console-screenshots/.
 */
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { en } from "../../console/src/i18n/en.js";
import { zhCN } from "../../console/src/i18n/zh-CN.js";
import { launchBrowser, newConsolePage, type Problems, SCREENSHOTS } from "./console-browser.js";
import { adminToken, api, baseUrl, createApp } from "./helpers.js";
import { RawClient } from "./raw-client.js";

/** Every page of the console's navigation (an app-key session sees all but Apps, which is the admin's). */
const PAGES = [
	"overview",
	"messages",
	"compose",
	"users",
	"tags",
	"schedules",
	"automations",
	"templates",
	"settings",
	"credentials",
	"webhooks",
	"usage",
	"keys",
] as const;

let browser: Browser;
let app: { id: string; key: string };
let context: BrowserContext;
let page: Page;
let problems: Problems;

async function signIn(p: Page, secret: string) {
	await p.goto(`${baseUrl}/console`);
	await p.locator("input[type=password]").fill(secret);
	await p.locator("form button[type=submit]").click();
	await p.locator("nav#nav").waitFor();
}

/** Opens a page from the navigation and waits until nothing on it is still loading. */
async function open(p: Page, name: string) {
	await p.locator(`nav#nav a[href="/console/${name}"]`).click();
	await p.waitForURL(`**/console/${name}`);
	await p.locator("#page-title").waitFor();
	await p.waitForFunction(() => !document.querySelector("main [aria-live=polite].muted, main p.muted[aria-live]"));
	await p.waitForLoadState("networkidle");
}

async function setLanguage(p: Page, locale: "en" | "zh-CN") {
	await p.locator(".top .lang select").selectOption(locale);
	await p.waitForFunction((l) => document.documentElement.lang === l, locale);
}

/** English catalog strings that read differently in Chinese: none may be visible in the Chinese console. */
const englishOnly: string[] = Object.entries(en)
	.filter(([k, v]) => zhCN[k as keyof typeof zhCN] !== v && /[A-Za-z]{3}/.test(v) && !v.includes("{"))
	.map(([, v]) => v);

beforeAll(async () => {
	browser = await launchBrowser();
	app = await createApp("console");
	({ context, page, problems } = await newConsolePage(browser, "en"));
}, 60_000);

afterAll(async () => {
	await browser?.close();
});

describe("GET /console", () => {
	it("serves the console's HTML in the browser's language", async () => {
		const zh = await fetch(`${baseUrl}/console`, { headers: { "accept-language": "zh-CN,zh;q=0.9,en;q=0.8" } });
		expect(zh.status).toBe(200);
		expect(zh.headers.get("content-type")).toMatch(/^text\/html/);
		const zhHtml = await zh.text();
		expect(zhHtml).toContain('<html lang="zh-CN"');
		expect(zhHtml).toContain("控制台");
		const enHtml = await (await fetch(`${baseUrl}/console`, { headers: { "accept-language": "en-US,en;q=0.9" } })).text();
		expect(enHtml).toContain('<html lang="en"');
		expect(enHtml).toContain("Warbler console");
		// Its script is served by the static assets, and a client-side route answers with the same page.
		const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(enHtml)?.[1];
		expect(script).toBeDefined();
		const js = await fetch(`${baseUrl}${script}`);
		expect(js.status).toBe(200);
		// Hashed bundles are cached for good (dist-console/_headers, written by the build).
		expect(js.headers.get("cache-control")).toContain("immutable");
		expect((await fetch(`${baseUrl}/console/index.html`)).headers.get("content-security-policy")).toContain("default-src 'self'");
		expect((await fetch(`${baseUrl}/console/messages`)).status).toBe(200);
	});
});

describe("the console in a browser", () => {
	it("signs in with an app key: an HttpOnly SameSite=Strict session cookie, no key in localStorage", async () => {
		await signIn(page, app.key);
		const cookies = await context.cookies();
		const session = cookies.find((c) => c.name === "warbler_session");
		expect(session?.httpOnly).toBe(true);
		expect(session?.sameSite).toBe("Strict");
		expect(session?.value).not.toContain(app.key);
		const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
		expect(stored).not.toContain(app.key);
		expect(stored).not.toContain("wbsk.");
		expect(await page.evaluate(() => document.cookie)).not.toContain("warbler_session");
		await expect(page.locator(".top .who").innerText()).resolves.toContain(app.id);
	});

	it("walks every page in English and in 中文: no missing key, no untranslated string, no error", async () => {
		for (const locale of ["en", "zh-CN"] as const) {
			await setLanguage(page, locale);
			for (const name of PAGES) {
				await open(page, name);
				const text = await page.locator("body").innerText();
				expect(text, `${locale} ${name}`).not.toContain("⟦");
				if (locale === "zh-CN") {
					const lines = text.split("\n").map((l) => l.trim());
					const leftovers = lines.filter((l) => englishOnly.includes(l));
					expect(leftovers, `English left on the Chinese ${name} page`).toEqual([]);
					expect(text).toMatch(/[\u4e00-\u9fff]/);
				}
				await page.screenshot({ path: join(SCREENSHOTS, `${locale}-${name}.png`), fullPage: true });
			}
			await page.locator(".top button[aria-expanded]", { hasText: locale === "en" ? "Live device" : "实时设备" }).click();
			await page.screenshot({ path: join(SCREENSHOTS, `${locale}-live-panel.png`) });
			await page.locator("#live .live-head button").click();
		}
		expect(await page.evaluate(() => (window as unknown as { __warblerMissing?: string[] }).__warblerMissing ?? [])).toEqual([]);
		// Back to English: the navigation reads English again.
		await setLanguage(page, "en");
		await expect.poll(() => page.locator('nav#nav a[href="/console/compose"]').innerText()).toBe("Compose");
		await setLanguage(page, "zh-CN");
		await expect.poll(() => page.locator('nav#nav a[href="/console/compose"]').innerText()).toBe("撰写");
		await setLanguage(page, "en");
		expect(problems.list).toEqual([]);
	});

	it("composes and sends to a user whose WebSocket client is connected: it arrives, the log shows it delivered, the detail its funnel", async () => {
		const token = (await api("POST", "/v1/users/console-ws/tokens", app.key, {})).body.token as string;
		const client = new RawClient(baseUrl, token, "console-ws-phone");
		await client.connect();
		try {
			await open(page, "compose");
			await page.getByLabel("User IDs").fill("console-ws");
			// The live audience estimate (POST /v1/audience/estimate) counts the one user.
			await page.waitForFunction(() =>
				/Estimated audience: 1$/.test(document.querySelector("[data-testid=estimate]")?.textContent ?? ""),
			);
			await page.getByLabel("Title", { exact: true }).fill("Hello from the console");
			await page.getByLabel("Body", { exact: true }).fill("Sent with a click");
			await page.getByRole("button", { name: "Send now" }).click();
			const result = await page.getByTestId("compose-result").innerText();
			const id = /msg_[0-9a-z]+/.exec(result)?.[0];
			expect(id).toBeDefined();
			const frame = await client.waitFor((f) => f.type === "message" && f.id === id);
			expect(frame.type === "message" && frame.content.title).toBe("Hello from the console");

			await open(page, "messages");
			const row = page.locator(`tr[data-message-id="${id}"]`);
			await expect
				.poll(
					async () => {
						await page.locator("form.filters button[type=submit]").click();
						await page.waitForLoadState("networkidle");
						return row
							.locator("td[data-field=delivered]")
							.innerText()
							.catch(() => "");
					},
					{ timeout: 20_000 },
				)
				.toBe("1");
			// The log filters by recipient: this user finds the message, another user does not.
			const filters = page.locator("form.filters");
			await filters.getByLabel("User ID", { exact: true }).fill("someone-else");
			await filters.locator("button[type=submit]").click();
			await page.getByText("No messages match.", { exact: true }).waitFor();
			await filters.getByLabel("User ID", { exact: true }).fill("console-ws");
			await filters.locator("button[type=submit]").click();
			await row.waitFor();
			await row.locator("a").click();
			await page.getByTestId("funnel").waitFor();
			await expect(page.locator('[data-testid=funnel] li[data-field="targeted"] strong').innerText()).resolves.toBe("1");
			await expect(page.locator('[data-testid=funnel] li[data-field="delivered"] strong').innerText()).resolves.toBe("1");
			// The recipients, with where each stands: the connected client acked it.
			await expect(
				page.locator('[data-testid=recipients] tr[data-user="console-ws"] [data-field=status]').innerText(),
			).resolves.toMatch(/^(Delivered|Acknowledged)$/);
			await page.screenshot({ path: join(SCREENSHOTS, "en-message-detail.png"), fullPage: true });
		} finally {
			client.close();
		}
		expect(problems.list).toEqual([]);
	});

	it("the live device panel connects through the client SDK and shows a message sent from Compose", async () => {
		await page.locator(".top button", { hasText: "Live device" }).click();
		await page.locator("#live").getByLabel("User ID", { exact: true }).fill("console-live");
		await page.locator("#live").getByRole("button", { name: "Connect", exact: true }).click();
		await page.locator('[data-testid=live-state][data-state="connected"]').waitFor({ timeout: 15_000 });
		await open(page, "compose");
		await page.locator("main").getByLabel("User IDs").fill("console-live");
		await page.getByLabel("Title", { exact: true }).fill("Watch it land");
		await page.getByRole("button", { name: "Send now" }).click();
		await page.getByTestId("compose-result").waitFor();
		await page
			.locator('[data-testid=live-frames] li[data-kind="message"]', { hasText: "Watch it land" })
			.waitFor({ timeout: 15_000 });
		await page.screenshot({ path: join(SCREENSHOTS, "en-live-message.png") });
		await page.locator("#live").getByRole("button", { name: "Disconnect" }).click();
		await page.locator("#live .live-head button").click();
		expect(problems.list).toEqual([]);
	});

	it("schedules a message a few seconds ahead from the UI and sees it fire", async () => {
		await open(page, "compose");
		await page.locator("main").getByLabel("User IDs").fill("console-ws");
		await page.getByLabel("Title", { exact: true }).fill("Scheduled from the console");
		await page.getByLabel("At a time").check();
		// The browser runs in UTC (timezoneId), so a datetime-local value is a UTC wall time.
		const at = new Date(Date.now() + 4000).toISOString().slice(0, 19);
		await page.getByLabel("Date and time").fill(at);
		await page.getByRole("button", { name: "Schedule" }).click();
		await page.getByTestId("compose-result").getByRole("link").click();
		await page.getByTestId("schedule-status").waitFor();
		await expect
			.poll(
				async () => {
					await page.getByRole("button", { name: "Refresh" }).click();
					await page.waitForLoadState("networkidle");
					return page
						.getByTestId("schedule-runs")
						.locator("tbody tr")
						.count()
						.catch(() => 0);
				},
				{ timeout: 30_000, interval: 1000 },
			)
			.toBe(1);
		await expect(page.getByTestId("schedule-status").innerText()).resolves.toBe("Done");
		await expect(page.getByTestId("schedule-runs").innerText()).resolves.toContain("Sent");
		expect(problems.list).toEqual([]);
	});

	it("uploads Web Push credentials through the form and shows their status", async () => {
		await open(page, "credentials");
		await expect(page.getByTestId("cred-status-webpush").innerText()).resolves.toBe("Not configured");
		const form = page.locator('section[data-channel="webpush"]');
		await form.getByLabel("Contact (mailto: or https:)").fill("mailto:ops@example.com");
		await form.getByRole("button", { name: "Save" }).click();
		await form.getByText("Saved.").waitFor();
		await expect.poll(() => page.getByTestId("cred-status-webpush").innerText()).toBe("Active");
		const apiView = await api("GET", "/v1/credentials/webpush", app.key);
		expect(apiView.status).toBe(200);
		// An APNs .p8 goes through a file input.
		const apns = page.locator('section[data-channel="apns"]');
		await expect(apns.locator("input[type=file]").getAttribute("accept")).resolves.toContain(".p8");
		expect(problems.list).toEqual([]);
	});

	it("creates an API key (secret shown once) and revokes it; the revoked key gets 401", async () => {
		await open(page, "keys");
		await page.locator("main").getByLabel("Name").fill("from-console");
		await page.getByRole("button", { name: "Create key" }).click();
		const secret = await page.getByTestId("new-secret").inputValue();
		expect(secret).toMatch(/^wbsk\./);
		expect((await api("GET", "/v1/keys", secret)).status).toBe(200);
		const keyId = secret.split(".")[1] as string;
		page.once("dialog", (d) => d.accept());
		await page.locator(`tr[data-key-id="${keyId}"] button`, { hasText: "Revoke" }).click();
		await page.locator(`tr[data-key-id="${keyId}"]`, { hasText: "Revoked" }).waitFor();
		expect((await api("GET", "/v1/keys", secret)).status).toBe(401);
		expect(problems.list).toEqual([]);
	});

	it("the overview chart draws the data just sent", async () => {
		await open(page, "overview");
		await expect
			.poll(
				async () => {
					await page.reload();
					await page
						.locator("figure.chart")
						.waitFor({ timeout: 10_000 })
						.catch(() => undefined);
					return Number(
						(await page
							.locator("figure.chart")
							.getAttribute("data-total")
							.catch(() => "0")) ?? 0,
					);
				},
				{ timeout: 30_000, interval: 1000 },
			)
			.toBeGreaterThan(0);
		await page.screenshot({ path: join(SCREENSHOTS, "en-overview-data.png"), fullPage: true });
		expect(problems.list).toEqual([]);
	});

	it("creates a template and an automation in their editors; the template preview renders a variant", async () => {
		for (const name of ["templates", "automations"]) {
			await open(page, name);
			await page.getByRole("button", { name: "New", exact: true }).click();
			await page.getByLabel("Definition (JSON)").waitFor();
			await page.locator("main form").getByRole("button", { name: "Save" }).click();
			await page.waitForURL(new RegExp(`/console/${name}/[a-z]+_[0-9a-z]+$`));
			await page.locator("main table tbody tr").first().waitFor();
		}
		const listed = await api("GET", "/v1/automations", app.key);
		expect(listed.body.automations).toHaveLength(1);
		await open(page, "templates");
		await page.locator("main table tbody a").first().click();
		await page.waitForURL(/\/console\/templates\/[a-z]+_[0-9a-z]+$/);
		await page.getByLabel("Definition (JSON)").waitFor();
		await page.getByLabel("Language variant").selectOption("zh-CN");
		await expect.poll(() => page.locator(".preview-box .notification").innerText()).toContain("订单已发货");
		expect(problems.list).toEqual([]);
	});

	it("adds a webhook endpoint: the signing secret is shown once, the endpoint is listed", async () => {
		await open(page, "webhooks");
		await page.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/warbler-hook");
		await page.getByRole("button", { name: "Add endpoint" }).click();
		await expect.poll(() => page.getByLabel("Signing secret").inputValue()).toMatch(/^whsec_/);
		await page.locator("main table", { hasText: "http://127.0.0.1:9/warbler-hook" }).waitFor();
		const listed = await api("GET", "/v1/webhooks", app.key);
		expect(listed.body.webhooks.map((w: { url: string }) => w.url)).toEqual(["http://127.0.0.1:9/warbler-hook"]);
		expect(JSON.stringify(listed.body)).not.toContain("whsec_");
		expect(problems.list).toEqual([]);
	});

	it("asks before a send to everyone, with the audience size", async () => {
		await open(page, "compose");
		await page.getByLabel("Everyone", { exact: true }).check();
		await page.waitForFunction(() =>
			/Estimated audience: \d+$/.test(document.querySelector("[data-testid=estimate]")?.textContent ?? ""),
		);
		await page.getByLabel("Title", { exact: true }).fill("To everyone");
		await page.getByRole("button", { name: "Send now" }).click();
		const dialog = page.getByRole("dialog", { name: "Send to everyone?" });
		await dialog.waitFor();
		await expect(dialog.innerText()).resolves.toMatch(/every user of the app: \d+ now/);
		await dialog.getByRole("button", { name: "Cancel" }).click();
		await expect(dialog.isVisible()).resolves.toBe(false);
		await expect(page.getByTestId("compose-result").count()).resolves.toBe(0);
	});

	it("pages a broadcast's recipients in the message detail", async () => {
		const users = Array.from({ length: 25 }, (_, i) => `bcast-${String(i).padStart(2, "0")}`);
		expect((await api("POST", "/v1/tags/console-bcast/users", app.key, { add: users })).status).toBe(200);
		const sent = await api("POST", "/v1/messages", app.key, {
			audience: { tags: { any: ["console-bcast"] } },
			content: { type: "text", title: "Broadcast" },
		});
		expect(sent.status).toBe(202);
		await page.goto(`${baseUrl}/console/messages/${sent.body.id}`);
		const rows = page.locator("[data-testid=recipients] tbody tr");
		await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(20);
		const first = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-user")));
		await page.getByRole("button", { name: "Next page", exact: true }).click();
		await expect.poll(() => rows.count()).toBe(5);
		const second = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-user")));
		expect([...first, ...second].sort()).toEqual(users);
		await page.getByRole("button", { name: "Previous page", exact: true }).click();
		await expect.poll(() => rows.count()).toBe(20);
		expect(problems.list).toEqual([]);
	});

	it("finds users by id prefix and opens a profile", async () => {
		await open(page, "users");
		await page.getByLabel("Find users by ID").fill("console-");
		await page.getByRole("button", { name: "Search" }).click();
		await page.getByTestId("user-list").getByText("console-ws", { exact: true }).click();
		await page.getByRole("heading", { name: "Devices" }).waitFor();
		await expect(page.locator("main").innerText()).resolves.toContain("console-ws-phone");
		expect(problems.list).toEqual([]);
	});

	it("is usable on a narrow screen: nothing wider than the viewport, the menu opens the navigation", async () => {
		await page.setViewportSize({ width: 375, height: 800 });
		for (const name of ["compose", "messages", "overview"]) {
			await page.goto(`${baseUrl}/console/${name}`);
			await page.locator("#page-title").waitFor();
			await page.waitForLoadState("networkidle");
			const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
			expect(overflow, name).toBeLessThanOrEqual(0);
			await page.screenshot({ path: join(SCREENSHOTS, `en-narrow-${name}.png`), fullPage: true });
		}
		await expect(page.locator("nav#nav").isVisible()).resolves.toBe(false);
		await page.getByRole("button", { name: "Menu" }).click();
		await page.locator('nav#nav a[href="/console/users"]').click();
		await page.waitForURL("**/console/users");
		// Keyboard: the new page's heading has the focus.
		await page.waitForFunction(() => document.activeElement?.id === "page-title", undefined, { timeout: 5000 });
		await page.setViewportSize({ width: 1280, height: 900 });
		expect(problems.list).toEqual([]);
	});

	it("signs out: the session ends and the old cookie gets 401", async () => {
		const cookie = (await context.cookies()).find((c) => c.name === "warbler_session");
		expect(cookie).toBeDefined();
		await page.getByRole("button", { name: "Sign out" }).click();
		await page.locator("input[type=password]").waitFor();
		const old = await fetch(`${baseUrl}/v1/users/console-ws`, { headers: { cookie: `warbler_session=${cookie?.value}` } });
		expect(old.status).toBe(401);
		expect((await context.cookies()).find((c) => c.name === "warbler_session")).toBeUndefined();
		expect(problems.list).toEqual([]);
	});
});

describe("the admin in the console", () => {
	it("lists and creates apps, then works on one app through the same pages", async () => {
		const { context: ctx, page: p, problems: pr } = await newConsolePage(browser, "zh-CN");
		try {
			await signIn(p, adminToken);
			await expect(p.locator(".top .who").innerText()).resolves.toBe("管理员（全部应用）");
			await p.locator("main").getByLabel("名称").fill("console-admin-made");
			await p.getByRole("button", { name: "创建应用" }).click();
			const row = p.locator("tr", { hasText: "console-admin-made" });
			await row.waitFor();
			await row.getByRole("button", { name: "打开" }).click();
			await p.waitForURL("**/console/overview");
			await expect.poll(() => p.locator(".top .who").innerText()).toMatch(/^管理员 · 应用 app_/);
			await open(p, "keys");
			await expect(p.getByTestId("keys").innerText()).resolves.toContain("default");
			await open(p, "users");
			await p.screenshot({ path: join(SCREENSHOTS, "zh-CN-admin-users.png"), fullPage: true });
			expect(pr.list).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});

describe("console sessions over HTTP", () => {
	it("a mutation with the cookie needs the CSRF header and the console's origin; the admin reaches /v1/apps", async () => {
		const signIn = await fetch(`${baseUrl}/v1/console/session`, {
			method: "POST",
			headers: { "content-type": "application/json", origin: baseUrl },
			body: JSON.stringify({ token: app.key }),
		});
		expect(signIn.status).toBe(201);
		const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
		const { csrf_token } = (await signIn.json()) as { csrf_token: string };
		const send = (headers: Record<string, string>) =>
			fetch(`${baseUrl}/v1/messages`, {
				method: "POST",
				headers: { cookie, "content-type": "application/json", ...headers },
				body: JSON.stringify({ audience: { users: ["csrf-user"] }, content: { type: "text", body: "x" } }),
			});
		expect((await send({})).status).toBe(403);
		expect((await send({ "x-warbler-csrf": csrf_token, origin: "https://evil.example" })).status).toBe(403);
		expect((await send({ "x-warbler-csrf": csrf_token, origin: baseUrl })).status).toBe(202);
		// An app-key session is not the admin.
		expect((await fetch(`${baseUrl}/v1/apps`, { headers: { cookie } })).status).toBe(401);
		// A cross-site sign-in is refused.
		const crossSite = await fetch(`${baseUrl}/v1/console/session`, {
			method: "POST",
			headers: { "content-type": "application/json", origin: "https://evil.example" },
			body: JSON.stringify({ token: app.key }),
		});
		expect(crossSite.status).toBe(403);
	});
});
