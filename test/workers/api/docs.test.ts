/// <reference types="vite/client" />
/**
 * docs/api.md against the API the Worker serves: the routes it names, the scopes table, the close
 * codes, and the /docs UI that must work without any other origin.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import apiDoc from "../../../docs/api.md?raw";
import { CloseCode } from "../../../protocol/frames.js";
import readme from "../../../README.md?raw";

const BASE = "http://warbler.test";
const ADMIN = "test-admin-token";
const METHODS = ["get", "put", "post", "patch", "delete"] as const;
type Scope = "read" | "send" | "manage";
/** `any`: an app key with any scope (or another credential the route accepts). */
type Requirement = Scope | "any";

interface Operation {
	security?: Record<string, string[]>[];
}
interface OpenApiDocument {
	info: { description?: string };
	paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
}

const fetchWorker = (path: string, init?: RequestInit) => exports.default.fetch(`${BASE}${path}`, init);

let openapi: OpenApiDocument;
/** "METHOD /path" → the operation, for every operation of the OpenAPI document. */
const operations = new Map<string, Operation>();

beforeAll(async () => {
	const res = await fetchWorker("/v1/openapi.json");
	expect(res.status).toBe(200);
	openapi = await res.json();
	for (const [path, item] of Object.entries(openapi.paths)) {
		for (const method of METHODS) {
			const op = item[method];
			if (op) operations.set(`${method.toUpperCase()} ${path}`, op);
		}
	}
});

// ─── Reading docs/api.md ─────────────────────────────────────────────────────────────────────────

interface Section {
	heading: string;
	body: string;
}

/** The `## ` sections of a markdown text, fenced code blocks removed. */
function sections(markdown: string): Section[] {
	const text = markdown.replace(/^```[\s\S]*?^```/gm, "");
	const out: Section[] = [{ heading: "", body: "" }];
	for (const line of text.split("\n")) {
		if (line.startsWith("## ")) out.push({ heading: line.slice(3), body: "" });
		else (out.at(-1) as Section).body += `${line}\n`;
	}
	return out;
}

/**
 * Routes a section describes: lines that start (after an optional list marker or heading) with
 * `METHOD /path`, e.g. "- `GET /v1/tags?cursor=` → …" or "`POST /v1/messages`". Query strings dropped.
 */
function routeHeadings(body: string): string[] {
	const out: string[] = [];
	for (const line of body.split("\n")) {
		const m = /^(?:[-*] |#{1,6} )?`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s?]*)/.exec(line);
		if (m) out.push(`${m[1]} ${m[2]}`);
	}
	return out;
}

const docSections = sections(apiDoc);
/** The contract's 0.2 additions this version does not serve yet: named, but not routes of the Worker. */
const isPlanned = (s: Section) => /not served by this version/i.test(s.heading);
const isOutsideOpenApi = (s: Section) => /^Outside the OpenAPI document/.test(s.heading);
const served = docSections.filter((s) => !isPlanned(s));
const documented = new Set(served.flatMap((s) => routeHeadings(s.body)));
const outsideOpenApi = docSections.filter(isOutsideOpenApi).flatMap((s) => routeHeadings(s.body));

describe("docs/api.md names exactly the routes the Worker serves", () => {
	it("finds the route headings it checks (the parser still matches the document)", () => {
		expect(operations.size).toBeGreaterThan(40);
		expect(documented.has("POST /v1/messages")).toBe(true);
		expect(documented.has("GET /v1/tags")).toBe(true);
		expect(outsideOpenApi).toContain("GET /v1/openapi.json");
	});

	it("every operation of the OpenAPI document is described in docs/api.md", () => {
		const missing = [...operations.keys()].filter((r) => !documented.has(r));
		expect(missing, "add these routes to docs/api.md").toEqual([]);
	});

	it("every route docs/api.md describes is in the OpenAPI document, or listed as outside it", () => {
		const unknown = [...documented].filter((r) => !operations.has(r) && !outsideOpenApi.includes(r));
		expect(unknown, "docs/api.md names routes the Worker does not serve").toEqual([]);
	});

	it("the routes listed as outside the OpenAPI document are served and are not in it", async () => {
		for (const route of outsideOpenApi) {
			const [method, path] = route.split(" ") as [string, string];
			expect(operations.has(route), route).toBe(false);
			const res = await fetchWorker(path, { method });
			expect(res.status, route).toBe(200);
			await res.arrayBuffer();
		}
	});

	it("the OpenAPI description points at docs/api.md", () => {
		expect(openapi.info.description).toContain("docs/api.md");
	});
});

// ─── Scopes ──────────────────────────────────────────────────────────────────────────────────────

/**
 * The one rule (docs/api.md: Scopes): `read` for reads, `send` for sending, `manage` for every other
 * write. The contract fixes the vendor credentials and webhooks as `manage`, reads included; the Web Push public
 * key is for browsers too (any app key, or a client token).
 */
function ruleFor(route: string): Requirement {
	const [method, path] = route.split(" ") as [string, string];
	if (route === "GET /v1/webpush/public-key") return "any";
	if (path === "/v1/credentials" || path.startsWith("/v1/credentials/")) return "manage";
	if (path === "/v1/webhooks" || path.startsWith("/v1/webhooks/")) return "manage";
	if (method === "GET") return "read";
	// A count, not a change: the composer's live estimate is a read sent as POST for its audience body.
	if (route === "POST /v1/audience/estimate") return "read";
	if (["POST /v1/messages", "DELETE /v1/messages/{id}", "POST /v1/events"].includes(route)) return "send";
	return "manage";
}

/** What an operation's security requirement says an app key needs; undefined when it takes no app key. */
function requirementOf(op: Operation): Requirement | undefined {
	const appKey = op.security?.find((s) => "appKey" in s)?.appKey;
	if (appKey === undefined) return undefined;
	expect(appKey.length).toBeLessThanOrEqual(1);
	return (appKey[0] as Scope | undefined) ?? "any";
}

/** The scopes table of docs/api.md: "| `METHOD /path` | `scope` |" rows ("any …" for any scope). */
function scopesTable(): Map<string, Requirement> {
	const section = docSections.find((s) => s.heading === "Credentials");
	const table = new Map<string, Requirement>();
	for (const line of section?.body.split("\n") ?? []) {
		const m = /^\| `([A-Z]+ \/[^`]+)` \| (?:`(read|send|manage)`|(any)\b[^|]*) \|$/.exec(line);
		if (m) table.set(m[1] as string, (m[2] ?? m[3]) as Requirement);
	}
	return table;
}

const appKeyRoutes = () =>
	new Map([...operations].flatMap(([route, op]) => (requirementOf(op) === undefined ? [] : [[route, requirementOf(op)]])));

describe("scopes", () => {
	it("every route under an app-key family states one scope in its security requirement", () => {
		const families = /^\/v1\/(users|tags|messages|credentials|schedules|settings|templates|automations|events)(\/|$)/;
		for (const [route, op] of operations) {
			const path = route.split(" ")[1] as string;
			if (!families.test(path)) continue;
			expect(op.security, route).toHaveLength(1);
			expect(requirementOf(op), route).toMatch(/^(read|send|manage)$/);
		}
	});

	it("admin routes take the admin token and no app key", () => {
		for (const [route, op] of operations) {
			if (!/ \/v1\/(apps|admin)(\/|$)/.test(route)) continue;
			expect(op.security, route).toEqual([{ adminToken: [] }]);
		}
	});

	it("each route's scope follows the one rule", () => {
		const wrong = [...appKeyRoutes()].filter(([route, scope]) => scope !== ruleFor(route));
		expect(
			wrong.map(([route, scope]) => `${route}: ${scope}, rule says ${ruleFor(route)}`),
			"scope differs from the rule",
		).toEqual([]);
	});

	it("the scopes table in docs/api.md lists exactly the app-key routes with their scopes", () => {
		const table = scopesTable();
		expect(table.size).toBeGreaterThan(0);
		expect(Object.fromEntries(table)).toEqual(Object.fromEntries(appKeyRoutes()));
	});

	it("the scope in the document is the one the Worker enforces", async () => {
		const created = await fetchWorker("/v1/apps", {
			method: "POST",
			headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
			body: JSON.stringify({ name: "scopes" }),
		});
		expect(created.status).toBe(201);
		const app = (await created.json()) as { id: string };
		const keys: Record<Scope, string> = { read: "", send: "", manage: "" };
		for (const scope of ["read", "send", "manage"] as const) {
			const res = await fetchWorker(`/v1/apps/${app.id}/keys`, {
				method: "POST",
				headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
				body: JSON.stringify({ name: scope, scopes: [scope] }),
			});
			keys[scope] = ((await res.json()) as { secret: string }).secret;
		}
		const params: Record<string, string> = { userId: "u1", deviceId: "d1", tag: "t1", id: "x1", channel: "apns" };
		for (const [route, scope] of appKeyRoutes()) {
			const [method, template] = route.split(" ") as [string, string];
			const path = template.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? "x1");
			const body = method === "GET" || method === "DELETE" ? undefined : "{}";
			for (const held of ["read", "send", "manage"] as const) {
				const res = await fetchWorker(path, {
					method,
					headers: { authorization: `Bearer ${keys[held]}`, "content-type": "application/json" },
					...(body === undefined ? {} : { body }),
				});
				await res.arrayBuffer();
				const allowed = scope === "any" || scope === held;
				if (allowed) expect(res.status, `${route} with a ${held} key`).not.toBe(403);
				else expect(res.status, `${route} with a ${held} key`).toBe(403);
			}
		}
	});
});

// ─── Close codes ─────────────────────────────────────────────────────────────────────────────────

/** The 4xxx codes of the close-code table under `heading` in a markdown text. */
function closeCodeTable(markdown: string, heading: RegExp): number[] {
	const start = markdown.split("\n").findIndex((l) => heading.test(l));
	expect(start, `no heading ${heading}`).toBeGreaterThanOrEqual(0);
	const codes: number[] = [];
	for (const line of markdown.split("\n").slice(start + 1)) {
		if (/^#/.test(line)) break;
		const m = /^\| (4\d{3}) \|/.exec(line);
		if (m) codes.push(Number(m[1]));
	}
	return codes.sort();
}

describe("close codes", () => {
	// GOING_AWAY (4000) is the client SDK's own close; every other code is one the server sends.
	const sent = Object.entries(CloseCode)
		.filter(([name]) => name !== "GOING_AWAY")
		.map(([, code]) => code)
		.sort();

	it("docs/api.md lists exactly the codes the server closes with", () => {
		expect(closeCodeTable(apiDoc, /^### Close codes/)).toEqual(sent);
	});

	it("the README's table lists the same codes", () => {
		expect(closeCodeTable(readme, /^### WebSocket close codes/)).toEqual(sent);
	});
});

// ─── The docs UI ─────────────────────────────────────────────────────────────────────────────────

describe("/docs works without any other origin", () => {
	it("GET /docs is HTML whose scripts and stylesheets are all same-origin", async () => {
		const res = await fetchWorker("/docs");
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
		const html = await res.text();
		expect(html).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
		const urls = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
		expect(urls.sort()).toEqual(["/docs/swagger-initializer.js", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]);
		expect(html).toContain('data-url="/v1/openapi.json"');
	});

	it("serves each asset with its content type, caching headers and a real body", async () => {
		const assets = [
			{ path: "/docs/swagger-ui.css", type: "text/css; charset=utf-8", min: 100_000, has: ".swagger-ui" },
			{ path: "/docs/swagger-ui-bundle.js", type: "text/javascript; charset=utf-8", min: 1_000_000, has: "SwaggerUIBundle" },
			{ path: "/docs/swagger-initializer.js", type: "text/javascript; charset=utf-8", min: 50, has: "SwaggerUIBundle(" },
		];
		for (const a of assets) {
			const res = await fetchWorker(a.path);
			expect(res.status, a.path).toBe(200);
			expect(res.headers.get("content-type"), a.path).toBe(a.type);
			expect(res.headers.get("cache-control"), a.path).toMatch(/max-age=\d+|no-cache/);
			expect(res.headers.get("x-content-type-options"), a.path).toBe("nosniff");
			const body = await res.text();
			expect(body.length, a.path).toBeGreaterThan(a.min);
			expect(body, a.path).toContain(a.has);
			expect(body, `${a.path} points at a source map that is not served`).not.toContain("sourceMappingURL");
		}
	});

	it("the initializer loads nothing from elsewhere (no validator badge)", async () => {
		const init = await (await fetchWorker("/docs/swagger-initializer.js")).text();
		expect(init).toContain("validatorUrl: null");
		expect(init).not.toMatch(/https?:\/\//);
	});

	it("Swagger UI's files revalidate by ETag", async () => {
		const first = await fetchWorker("/docs/swagger-ui.css");
		await first.arrayBuffer();
		const etag = first.headers.get("etag");
		expect(etag).toMatch(/^".+"$/);
		expect(first.headers.get("cache-control")).toBe("public, max-age=86400");
		const again = await fetchWorker("/docs/swagger-ui.css", { headers: { "if-none-match": etag as string } });
		expect(again.status).toBe(304);
		expect(await again.text()).toBe("");
	});

	it("the docs routes are not OpenAPI operations, and other methods on them answer 405", async () => {
		for (const path of Object.keys(openapi.paths)) expect(path.startsWith("/docs")).toBe(false);
		const res = await fetchWorker("/docs/swagger-ui.css", { method: "POST" });
		expect(res.status).toBe(405);
		expect(res.headers.get("allow")).toContain("GET");
		const missing = await fetchWorker("/docs/nothing-here.js");
		expect(missing.status).toBe(404);
		await missing.arrayBuffer();
		await res.arrayBuffer();
	});
});
