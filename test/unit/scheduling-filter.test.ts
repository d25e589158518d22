/**
 * Scheduling, attribute filters: the compiled SQL is executed against a real SQLite (node:sqlite)
 * holding a `users` table like D1's, and the tests assert which user ids match: typed comparisons,
 * ne/exists semantics, built-in columns, nesting, app scoping, injection attempts in attribute names
 * and values, the bound-parameter budget, depth/leaf limits, and the generated-column index path.
 */
import { DatabaseSync } from "node:sqlite";
import { beforeAll, describe, expect, it } from "vitest";
import {
	compileFilter,
	FILTER_MAX_IN_VALUES,
	FILTER_PARAM_BUDGET,
	Filter,
	FilterError,
	generatedColumnSql,
	jsonPath,
} from "../../core/rules/filter.js";

type Row = [id: string, attributes: Record<string, unknown>, locale: string | null, timezone: string | null];
const INJECTION = "pro' OR 1=1 --";
const ROWS: Row[] = [
	["u1", { plan: "pro", spend: 150, address: { city: "Berlin" }, beta: true, signup: "2026-01-15" }, "de-DE", "Europe/Berlin"],
	["u2", { plan: "free", spend: 0, address: { city: "Paris" }, beta: false, signup: "2025-12-01" }, "fr-FR", "Europe/Paris"],
	["u3", { plan: "team", spend: 99.5, signup: "2026-03-01" }, "en-US", "America/New_York"],
	["u4", {}, null, null],
	["u5", { plan: 5, spend: "200", address: "Berlin", nullish: null }, "en-GB", null],
	["u6", { plan: "pro", "a-b": 1, locale: "de-DE" }, null, "Asia/Shanghai"],
	["u7", { plan: { tier: "pro" }, spend: [150] }, "zh-CN", "Asia/Shanghai"],
	["u8", { plan: "Pro", beta: 1 }, "de", null],
	["u9", { plan: INJECTION }, "en", null],
];
const ALL = ROWS.map((r) => r[0]);

let db: DatabaseSync;

beforeAll(() => {
	db = new DatabaseSync(":memory:");
	db.exec(`CREATE TABLE users (
		app_id TEXT NOT NULL, id TEXT NOT NULL, attributes TEXT NOT NULL DEFAULT '{}', locale TEXT, timezone TEXT,
		created_at TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (app_id, id))`);
	const insert = db.prepare("INSERT INTO users (app_id, id, attributes, locale, timezone) VALUES (?, ?, ?, ?, ?)");
	for (const [id, attrs, locale, tz] of ROWS) insert.run("app1", id, JSON.stringify(attrs), locale, tz);
	// Another app's user matching everything: must never show up.
	insert.run("app2", "other", JSON.stringify({ plan: "pro", spend: 150, beta: true }), "de-DE", "Europe/Berlin");
});

/** Validates with the schema, compiles, runs in app1, returns the matching ids. */
function match(filter: unknown, opts: Parameters<typeof compileFilter>[1] = {}): string[] {
	const parsed = Filter.parse(filter);
	const { sql, params } = compileFilter(parsed, opts);
	const rows = db
		.prepare(`SELECT u.id AS id FROM users u WHERE u.app_id = ? AND (${sql}) ORDER BY u.id`)
		.all("app1", ...(params as (string | number)[])) as { id: string }[];
	return rows.map((r) => r.id);
}
const except = (...ids: string[]) => ALL.filter((id) => !ids.includes(id));

describe("compileFilter against SQLite", () => {
	it("eq is typed: strings match strings only, numbers numbers only, objects never", () => {
		expect(match({ attr: "plan", op: "eq", value: "pro" })).toEqual(["u1", "u6"]);
		expect(match({ attr: "plan", op: "eq", value: 5 })).toEqual(["u5"]);
		expect(match({ attr: "plan", op: "eq", value: "5" })).toEqual([]);
		expect(match({ attr: "plan", op: "eq", value: '{"tier":"pro"}' })).toEqual([]);
		expect(match({ attr: "spend", op: "eq", value: 150 })).toEqual(["u1"]);
		expect(match({ attr: "spend", op: "eq", value: 0 })).toEqual(["u2"]);
		expect(match({ attr: "spend", op: "eq", value: 200 })).toEqual([]);
		expect(match({ attr: "address.city", op: "eq", value: "Berlin" })).toEqual(["u1"]);
		expect(match({ attr: "a-b", op: "eq", value: 1 })).toEqual(["u6"]);
	});

	it("ne is NOT eq: users without the attribute or with another type match", () => {
		expect(match({ attr: "plan", op: "ne", value: "pro" })).toEqual(except("u1", "u6"));
		expect(match({ attr: "spend", op: "ne", value: 150 })).toEqual(except("u1"));
	});

	it("booleans match JSON true/false only, not 1/0", () => {
		expect(match({ attr: "beta", op: "eq", value: true })).toEqual(["u1"]);
		expect(match({ attr: "beta", op: "eq", value: false })).toEqual(["u2"]);
		expect(match({ attr: "beta", op: "ne", value: true })).toEqual(except("u1"));
		expect(match({ attr: "beta", op: "eq", value: 1 })).toEqual(["u8"]);
	});

	it("ranges compare numbers numerically and strings as text", () => {
		expect(match({ attr: "spend", op: "gt", value: 99 })).toEqual(["u1", "u3"]);
		expect(match({ attr: "spend", op: "gte", value: 150 })).toEqual(["u1"]);
		expect(match({ attr: "spend", op: "lt", value: 100 })).toEqual(["u2", "u3"]);
		expect(match({ attr: "spend", op: "lte", value: 99.5 })).toEqual(["u2", "u3"]);
		// Numerically 99.5 < 150 although "99.5" > "150" as text.
		expect(match({ attr: "spend", op: "lt", value: 150 })).toEqual(["u2", "u3"]);
		expect(match({ attr: "signup", op: "gte", value: "2026-01-01" })).toEqual(["u1", "u3"]);
		expect(match({ attr: "signup", op: "lt", value: "2026-01-01" })).toEqual(["u2"]);
	});

	it("in: typed membership, one bound parameter for the whole list", () => {
		expect(match({ attr: "plan", op: "in", value: ["pro", "team"] })).toEqual(["u1", "u3", "u6"]);
		expect(match({ attr: "plan", op: "in", value: ["free", 5] })).toEqual(["u2", "u5"]);
		expect(match({ attr: "plan", op: "in", value: ["5"] })).toEqual([]);
		const many = Array.from({ length: FILTER_MAX_IN_VALUES }, (_, i) => `p${i}`);
		many[99] = "team";
		const compiled = compileFilter(Filter.parse({ attr: "plan", op: "in", value: many }));
		expect(compiled.params).toHaveLength(3);
		expect(match({ attr: "plan", op: "in", value: many })).toEqual(["u3"]);
	});

	it("exists: json_type IS NOT NULL (a JSON null exists); value false negates", () => {
		expect(match({ attr: "address", op: "exists" })).toEqual(["u1", "u2", "u5"]);
		expect(match({ attr: "nullish", op: "exists" })).toEqual(["u5"]);
		expect(match({ attr: "address", op: "exists", value: false })).toEqual(except("u1", "u2", "u5"));
		expect(match({ attr: "address.city", op: "exists", value: true })).toEqual(["u1", "u2"]);
	});

	it("locale and timezone are the users columns, not attributes", () => {
		expect(match({ attr: "locale", op: "eq", value: "de-DE" })).toEqual(["u1"]); // not u6 (attribute)
		expect(match({ attr: "locale", op: "in", value: ["fr-FR", "en-US"] })).toEqual(["u2", "u3"]);
		expect(match({ attr: "locale", op: "ne", value: "de-DE" })).toEqual(except("u1"));
		expect(match({ attr: "locale", op: "exists", value: false })).toEqual(["u4", "u6"]);
		expect(match({ attr: "timezone", op: "eq", value: "Asia/Shanghai" })).toEqual(["u6", "u7"]);
		expect(match({ attr: "locale", op: "gte", value: "en" })).toEqual(["u2", "u3", "u5", "u7", "u9"]);
		expect(Filter.safeParse({ attr: "locale", op: "eq", value: 5 }).success).toBe(false);
	});

	it("and / or nest", () => {
		expect(
			match({
				or: [
					{
						and: [
							{ attr: "plan", op: "eq", value: "pro" },
							{ attr: "beta", op: "eq", value: true },
						],
					},
					{
						and: [
							{ attr: "spend", op: "lt", value: 100 },
							{ attr: "locale", op: "eq", value: "en-US" },
						],
					},
				],
			}),
		).toEqual(["u1", "u3"]);
		expect(match({ and: [{ attr: "plan", op: "exists" }, { or: [{ attr: "spend", op: "exists", value: false }] }] })).toEqual([
			"u6",
			"u8",
			"u9",
		]);
	});

	it("injection in values is inert: bound, never in the SQL text", () => {
		const f = Filter.parse({ attr: "plan", op: "eq", value: INJECTION });
		const { sql, params } = compileFilter(f);
		expect(sql).not.toContain("OR 1=1");
		expect(params).toContain(INJECTION);
		expect(match(f)).toEqual(["u9"]);
		expect(match({ attr: "plan", op: "in", value: ["x') OR 1=1 --", '"); DROP TABLE users; --'] })).toEqual([]);
		expect(match({ attr: "locale", op: "eq", value: "' OR '1'='1" })).toEqual([]);
		expect(match({ attr: "plan", op: "ne", value: "x' OR 1=1 --" })).toEqual(ALL);
		expect(db.prepare("SELECT count(*) AS n FROM users").get()).toEqual({ n: ROWS.length + 1 });
	});

	it("injection in attribute names is refused by the schema and by the compiler", () => {
		const bad = [
			"plan') OR 1=1 --",
			"plan' OR '1'='1",
			'plan"."x',
			"$.plan",
			"plan[0]",
			"a..b",
			".plan",
			"plan.",
			"plan;DROP TABLE users",
			"",
			"x".repeat(129),
		];
		for (const attr of bad) {
			const r = Filter.safeParse({ attr, op: "eq", value: "x" });
			expect(r.success, attr).toBe(false);
			expect(r.error!.issues[0]!.path, attr).toEqual(["attr"]);
			expect(() => compileFilter({ attr, op: "eq", value: "x" }), attr).toThrow(FilterError);
		}
		// The path itself always travels as a bound parameter.
		const { sql, params } = compileFilter({ attr: "address.city", op: "eq", value: "Berlin" });
		expect(sql).not.toContain("address");
		expect(params).toEqual(['$."address"."city"', '$."address"."city"', "Berlin"]);
		expect(jsonPath("a-b.c_d")).toBe('$."a-b"."c_d"');
	});
});

describe("Filter validation", () => {
	const leaf = (i: number) => ({ attr: `a${i}`, op: "eq", value: `v${i}` });
	const nest = (depth: number): unknown => (depth === 0 ? leaf(0) : { and: [nest(depth - 1), { attr: "x", op: "exists" }] });

	it("enforces the bound-parameter budget (D1: 100 per statement)", () => {
		const ok = { or: Array.from({ length: FILTER_PARAM_BUDGET / 3 }, (_, i) => leaf(i)) };
		expect(compileFilter(Filter.parse(ok)).params).toHaveLength(FILTER_PARAM_BUDGET);
		const over = { or: Array.from({ length: FILTER_PARAM_BUDGET / 3 + 1 }, (_, i) => leaf(i)) };
		const r = Filter.safeParse(over);
		expect(r.success).toBe(false);
		expect(r.error!.issues[0]!.message).toMatch(/bound parameters/);
		expect(() => compileFilter(over as Filter)).toThrow(FilterError);
		// A caller with more parameters of its own can lower the budget.
		expect(() => compileFilter(Filter.parse(ok), { maxParams: 60 })).toThrow(/at most 60/);
	});

	it("allows 5 levels of and/or, refuses 6 naming the path, and survives absurd nesting", () => {
		expect(Filter.safeParse(nest(5)).success).toBe(true);
		const six = Filter.safeParse(nest(6));
		expect(six.success).toBe(false);
		expect(six.error!.issues[0]!.message).toMatch(/at most 5 levels/);
		expect(six.error!.issues[0]!.path).toEqual(["and", 0, "and", 0, "and", 0, "and", 0, "and", 0]);
		let deep: unknown = leaf(0);
		for (let i = 0; i < 100_000; i++) deep = { and: [deep] };
		const r = Filter.safeParse(deep);
		expect(r.success).toBe(false);
	});

	it("at most 50 conditions, and sane values per op", () => {
		expect(
			Filter.safeParse({ and: Array.from({ length: 51 }, (_, i) => ({ attr: "a", op: "exists", value: i % 2 === 0 })) }).success,
		).toBe(false);
		expect(Filter.safeParse({ and: Array.from({ length: 50 }, () => ({ attr: "a", op: "exists" })) }).success).toBe(true);
		const refused = [
			{ attr: "a", op: "eq" },
			{ attr: "a", op: "in", value: "x" },
			{ attr: "a", op: "in", value: [] },
			{ attr: "a", op: "in", value: Array.from({ length: 101 }, (_, i) => i) },
			{ attr: "a", op: "in", value: [true] },
			{ attr: "a", op: "gt", value: true },
			{ attr: "a", op: "eq", value: ["x"] },
			{ attr: "a", op: "exists", value: "yes" },
			{ attr: "a", op: "like", value: "x" },
			{ attr: "a", op: "eq", value: "x", extra: 1 },
			{ and: [] },
			{ and: [leaf(1)], or: [leaf(2)] },
			[],
			"plan = 'pro'",
		];
		for (const f of refused) expect(Filter.safeParse(f).success, JSON.stringify(f)).toBe(false);
		expect(() => compileFilter({ attr: "a", op: "like" as "eq", value: "x" })).toThrow(FilterError);
		expect(() => compileFilter({ nope: [] } as unknown as Filter)).toThrow(FilterError);
	});
});

describe("index strategy: generated columns", () => {
	it("the generated-column form gives the same matches and uses the index", () => {
		for (const stmt of generatedColumnSql("plan", "attr_plan")) db.exec(stmt);
		for (const stmt of generatedColumnSql("spend", "attr_spend")) db.exec(stmt);
		const columns = { plan: "attr_plan", spend: "attr_spend" };
		const filters = [
			{ attr: "plan", op: "eq", value: "pro" },
			{ attr: "plan", op: "eq", value: 5 },
			{ attr: "plan", op: "eq", value: "5" },
			{ attr: "plan", op: "ne", value: "pro" },
			{ attr: "plan", op: "in", value: ["pro", "team", 5] },
			{ attr: "plan", op: "exists" },
			{ attr: "spend", op: "gt", value: 99 },
			{ attr: "spend", op: "lte", value: 99.5 },
			{
				or: [
					{ attr: "plan", op: "eq", value: "free" },
					{ attr: "spend", op: "gte", value: 150 },
				],
			},
		];
		for (const f of filters) expect(match(f, { columns }), JSON.stringify(f)).toEqual(match(f));
		const { sql, params } = compileFilter(Filter.parse({ attr: "plan", op: "eq", value: "pro" }), { columns });
		expect(sql).toContain('u."attr_plan"');
		expect(params).toEqual(["pro"]);
		const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT u.id FROM users u WHERE u.app_id = ? AND (${sql})`).all("app1", "pro") as {
			detail: string;
		}[];
		expect(plan.map((p) => p.detail).join(" ")).toMatch(/USING INDEX users_attr_plan/);
	});

	it("refuses unsafe column names and mappings", () => {
		expect(() => generatedColumnSql("plan", "attr_plan; DROP TABLE users")).toThrow(FilterError);
		expect(() => generatedColumnSql("plan'", "attr_x")).toThrow(FilterError);
		expect(() => compileFilter({ attr: "plan", op: "eq", value: "x" }, { columns: { plan: 'x" OR 1' } })).toThrow(FilterError);
	});
});
