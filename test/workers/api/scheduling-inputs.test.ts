import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type Answer, call, newApp, newKey, type TestApp } from "../http.js";
import { detailPaths, expectError, stable } from "./helpers.js";

/** Every row the scheduling routes can touch, compared before and after a rejected request. */
async function state() {
	const out: Record<string, unknown[]> = {};
	for (const t of ["apps", "schedules", "schedule_runs", "templates", "automations", "messages"]) {
		out[t] = stable((await env.DB.prepare(`SELECT * FROM ${t}`).all()).results);
	}
	return out;
}

let a: TestApp;
let b: TestApp;
let readOnly: string;
const ids = { schedule: "", template: "", automation: "" };
const msg = { audience: { users: ["u1"] }, content: { type: "text", body: "hi" } };
const soon = () => new Date(Date.now() + 3600_000).toISOString();

beforeAll(async () => {
	a = await newApp("sched-a");
	b = await newApp("sched-b");
	readOnly = (await newKey(a.appId, ["read"])).secret;
	ids.schedule = (await call("POST", "/v1/schedules", a.key, { message: msg, when: { at: soon() } })).body.id;
	ids.template = (
		await call("POST", "/v1/templates", a.key, { name: "t", variants: { en: { type: "text", body: "x" } } })
	).body.id;
	ids.automation = (
		await call("POST", "/v1/automations", a.key, {
			name: "a",
			trigger: { event: "signup" },
			message: { content: { type: "text", body: "welcome" } },
			enabled: true,
		})
	).body.id;
});

interface Case {
	name: string;
	method: string;
	path: () => string;
	body?: unknown;
	raw?: string;
	token?: () => string;
	status: number;
	code: string;
	paths?: string[];
}

const bad = (name: string, method: string, path: () => string, body: unknown, paths?: string[]): Case => ({
	name,
	method,
	path,
	body,
	status: 400,
	code: "invalid_request",
	paths,
});

const cases: Case[] = [
	bad("schedule without when", "POST", () => "/v1/schedules", { message: msg }, ["when"]),
	bad("schedule without message", "POST", () => "/v1/schedules", { when: { at: soon() } }, ["message"]),
	bad(
		"schedule with an invalid cron",
		"POST",
		() => "/v1/schedules",
		{ message: msg, when: { cron: "99 * * * *", timezone: "UTC" } },
		["when.cron"],
	),
	bad(
		"schedule with a seconds field",
		"POST",
		() => "/v1/schedules",
		{ message: msg, when: { cron: "0 0 9 * * *", timezone: "UTC" } },
		["when.cron"],
	),
	bad(
		"schedule with an unknown zone",
		"POST",
		() => "/v1/schedules",
		{ message: msg, when: { cron: "0 9 * * *", timezone: "Moon/Base" } },
		["when.timezone"],
	),
	bad("schedule at an impossible date", "POST", () => "/v1/schedules", { message: msg, when: { at: "2026-02-30T09:00:00Z" } }, [
		"when.at",
	]),
	bad("schedule at in the past", "POST", () => "/v1/schedules", { message: msg, when: { at: "2020-01-01T00:00:00Z" } }, [
		"when.at",
	]),
	bad("schedule local_time with an offset", "POST", () => "/v1/schedules", {
		message: msg,
		when: { local_time: "2027-01-01T09:00:00+08:00" },
	}),
	bad("schedule optimal window of 0", "POST", () => "/v1/schedules", {
		message: msg,
		when: { optimal: { within_hours: 0, fallback_local_time: "09:00" } },
	}),
	bad("schedule with an unknown field", "POST", () => "/v1/schedules", { message: msg, when: { at: soon() }, extra: 1 }, [
		"extra",
	]),
	bad(
		"schedule lateness negative",
		"POST",
		() => "/v1/schedules",
		{ message: msg, when: { at: soon() }, max_lateness_seconds: -1 },
		["max_lateness_seconds"],
	),
	bad("schedule list with a bad status", "GET", () => "/v1/schedules?status=sleeping", undefined),
	bad("schedule patch with nothing", "PATCH", () => `/v1/schedules/${ids.schedule}`, {}),
	{
		name: "schedule with malformed JSON",
		method: "POST",
		path: () => "/v1/schedules",
		raw: "{when:",
		status: 400,
		code: "invalid_request",
	},
	{ name: "unknown schedule", method: "GET", path: () => "/v1/schedules/sch_missing", status: 404, code: "not_found" },
	{
		name: "schedule write with a read-only key",
		method: "POST",
		path: () => `/v1/schedules/${ids.schedule}/pause`,
		token: () => readOnly,
		status: 403,
		code: "forbidden",
	},
	{
		name: "schedules without a key",
		method: "GET",
		path: () => "/v1/schedules",
		token: () => "",
		status: 401,
		code: "unauthorized",
	},
	bad("settings with a quiet hour of 24:00", "PATCH", () => "/v1/settings", {
		quiet_hours: { start: "24:00", end: "08:00", action: "hold" },
	}),
	bad("settings with equal quiet hour ends", "PATCH", () => "/v1/settings", {
		quiet_hours: { start: "08:00", end: "08:00", action: "hold" },
	}),
	bad("settings with a zero cap", "PATCH", () => "/v1/settings", { frequency_caps: [{ max: 0, per: "day" }] }),
	bad("settings capping transactional", "PATCH", () => "/v1/settings", {
		frequency_caps: [{ max: 1, per: "day", category: "transactional" }],
	}),
	bad("settings with an unknown zone", "PATCH", () => "/v1/settings", { default_timezone: "Nowhere/Else" }, ["default_timezone"]),
	bad("settings with an unknown field", "PATCH", () => "/v1/settings", { vip: true }, ["vip"]),
	{
		name: "settings change with a read-only key",
		method: "PATCH",
		path: () => "/v1/settings",
		body: { inbox_cap: 20 },
		token: () => readOnly,
		status: 403,
		code: "forbidden",
	},
	bad("template without variants", "POST", () => "/v1/templates", { name: "t", variants: {} }, ["variants"]),
	bad("template with a bad locale", "POST", () => "/v1/templates", {
		name: "t",
		variants: { "not a locale": { type: "text", body: "x" } },
	}),
	bad("template with a prototype path", "POST", () => "/v1/templates", {
		name: "t",
		variants: { en: { type: "text", body: "{{user.__proto__.x}}" } },
	}),
	bad(
		"template default locale not a variant",
		"POST",
		() => "/v1/templates",
		{ name: "t", default_locale: "de", variants: { en: { type: "text", body: "x" } } },
		["default_locale"],
	),
	{ name: "unknown template", method: "DELETE", path: () => "/v1/templates/tpl_missing", status: 404, code: "not_found" },
	bad("message with template and content", "POST", () => "/v1/messages", { ...msg, template_id: "tpl_x" }, ["content"]),
	bad("message with an unknown template", "POST", () => "/v1/messages", { audience: msg.audience, template_id: "tpl_missing" }, [
		"template_id",
	]),
	bad("message with variables but no template", "POST", () => "/v1/messages", { ...msg, variables: { a: 1 } }, ["variables"]),
	bad("message with a small throttle", "POST", () => "/v1/messages", { ...msg, options: { throttle_per_minute: 1 } }, [
		"options.throttle_per_minute",
	]),
	bad("message with a bad filter op", "POST", () => "/v1/messages", {
		audience: { filter: { attr: "plan", op: "like", value: "x" } },
		content: msg.content,
	}),
	bad("message with an injection filter attribute", "POST", () => "/v1/messages", {
		audience: { filter: { attr: "plan') OR 1=1 --", op: "eq", value: "x" } },
		content: msg.content,
	}),
	bad(
		"automation without trigger",
		"POST",
		() => "/v1/automations",
		{ name: "x", message: { content: msg.content }, enabled: true },
		["trigger"],
	),
	bad("automation with an audience", "POST", () => "/v1/automations", {
		name: "x",
		trigger: { event: "e" },
		message: msg,
		enabled: true,
	}),
	bad(
		"automation with a negative delay",
		"POST",
		() => "/v1/automations",
		{ name: "x", trigger: { event: "e" }, delay_seconds: -5, message: { content: msg.content }, enabled: true },
		["delay_seconds"],
	),
	{
		name: "unknown automation",
		method: "PATCH",
		path: () => "/v1/automations/aut_missing",
		body: { enabled: false },
		status: 404,
		code: "not_found",
	},
	bad("event without a user", "POST", () => "/v1/events", { name: "signup" }, ["user_id"]),
	bad("event from the future", "POST", () => "/v1/events", { user_id: "u1", name: "signup", time: "2099-01-01T00:00:00Z" }, [
		"time",
	]),
	bad(
		"event batch with a bad user id",
		"POST",
		() => "/v1/events",
		{
			events: [
				{ user_id: "ok", name: "e" },
				{ user_id: "no spaces", name: "e" },
			],
		},
		["events[1].user_id"],
	),
	bad("event batch over 1,000", "POST", () => "/v1/events", {
		events: Array.from({ length: 1001 }, () => ({ user_id: "u", name: "e" })),
	}),
];

describe("scheduling routes: bad input changes nothing", () => {
	it(`the table holds ${cases.length} cases`, () => expect(cases.length).toBeGreaterThanOrEqual(40));

	for (const c of cases) {
		it(c.name, async () => {
			const before = await state();
			const token = c.token ? c.token() : a.key;
			const res: Answer = await call(c.method, c.path(), token || null, c.body, c.raw === undefined ? {} : { raw: c.raw });
			expect(res.status).toBeLessThan(500);
			expectError(res, c.status, c.code);
			if (c.paths) for (const p of c.paths) expect(detailPaths(res)).toContain(p);
			expect(await state()).toEqual(before);
		});
	}
});

describe("scheduling routes: another app's key sees nothing and changes nothing", () => {
	const routes: [string, string, () => string, unknown?][] = [
		["get schedule", "GET", () => `/v1/schedules/${ids.schedule}`],
		["patch schedule", "PATCH", () => `/v1/schedules/${ids.schedule}`, { max_lateness_seconds: 10 }],
		["pause schedule", "POST", () => `/v1/schedules/${ids.schedule}/pause`],
		["resume schedule", "POST", () => `/v1/schedules/${ids.schedule}/resume`],
		["cancel schedule", "DELETE", () => `/v1/schedules/${ids.schedule}`],
		["get template", "GET", () => `/v1/templates/${ids.template}`],
		[
			"replace template",
			"PATCH",
			() => `/v1/templates/${ids.template}`,
			{ name: "y", variants: { en: { type: "text", body: "y" } } },
		],
		["delete template", "DELETE", () => `/v1/templates/${ids.template}`],
		["get automation", "GET", () => `/v1/automations/${ids.automation}`],
		["patch automation", "PATCH", () => `/v1/automations/${ids.automation}`, { enabled: false }],
		["delete automation", "DELETE", () => `/v1/automations/${ids.automation}`],
	];
	for (const [name, method, path, body] of routes) {
		it(`${name} → 404`, async () => {
			const before = await state();
			expectError(await call(method, path(), b.key, body), 404, "not_found");
			expect(await state()).toEqual(before);
		});
	}

	it("lists and settings are per app; B's template cannot be used by A", async () => {
		expect((await call("GET", "/v1/schedules", b.key)).body.schedules).toEqual([]);
		expect((await call("GET", "/v1/templates", b.key)).body.templates).toEqual([]);
		expect((await call("GET", "/v1/automations", b.key)).body.automations).toEqual([]);
		await call("PATCH", "/v1/settings", b.key, { inbox_cap: 11 });
		expect((await call("GET", "/v1/settings", a.key)).body.inbox_cap).toBeUndefined();
		const res = await call("POST", "/v1/messages", b.key, { audience: { users: ["u1"] }, template_id: ids.template });
		expectError(res, 400, "invalid_request");
		expect(detailPaths(res)).toContain("template_id");
	});
});
