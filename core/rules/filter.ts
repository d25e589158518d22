/**
 * Audience attribute filters, compiled to a parameterised SQLite WHERE fragment over `users u`.
 *
 *   {"and": [{"attr": "plan", "op": "in", "value": ["pro", "team"]},
 *            {"or": [{"attr": "address.city", "op": "eq", "value": "Berlin"},
 *                    {"attr": "spend", "op": "gte", "value": 100}]},
 *            {"attr": "locale", "op": "eq", "value": "de-DE"}]}
 *
 *   const { sql, params } = compileFilter(filter);
 *   db.prepare(`SELECT u.id FROM users u WHERE u.app_id = ? AND (${sql})`).bind(appId, ...params)
 *
 * Leaves: `{attr, op, value?}`, op ∈ eq ne in gt gte lt lte exists. `attr` is a dotted path into the
 * user's JSON `attributes` (`plan`, `address.city`; segments `[A-Za-z0-9_-]`, whole path ≤ 128
 * chars), except the built-in `locale` and `timezone`, which are the users table's columns (so a
 * custom attribute literally named `locale` or `timezone` cannot be filtered on).
 *
 * Why it is built this way:
 * - No user input is ever concatenated into SQL: the JSON path (`$."address"."city"`), every value and
 *   every `in` list go in as bound parameters; the SQL text is made only of fixed fragments and
 *   column names from a fixed map (or from the operator's `columns` option, checked against an
 *   identifier pattern). `compileFilter` re-validates its input, so it is safe on unvalidated data.
 * - Typed comparisons, as JSON has types: a string value matches only JSON strings (text order, by
 *   code point: fine for ISO dates), a number only JSON numbers (numerically), a boolean only that
 *   JSON literal. Each leaf checks `json_type(u.attributes, ?)` before comparing
 *   `json_extract(u.attributes, ?)`, so `"5"` never equals 5, `true` never equals 1, and an object
 *   attribute never equals its JSON text. Every leaf is 0 or 1, never NULL, so `and`/`or` are plain
 *   two-valued logic.
 * - `ne` is NOT `eq`: users without the attribute (or with another type) match `ne`. `exists` →
 *   `json_type(…) IS NOT NULL` (a JSON null counts as existing); `{op: "exists", value: false}` is the
 *   negation. `in` takes ≤ 100 strings/numbers bound as ONE JSON array parameter and expanded with
 *   `json_each(?)`, so a long list does not eat the statement's parameter budget.
 * - D1 binds at most 100 parameters per statement. A leaf costs 1–3 (`json_type` path, `json_extract`
 *   path, value); the schema refuses filters needing more than `FILTER_PARAM_BUDGET` (90), leaving
 *   room for the surrounding query (app id, cursor, limit). Also ≤ 5 levels deep and ≤ 50 leaves; the
 *   depth is checked on the raw JSON before zod recurses, so a 100,000-level body cannot blow the stack.
 *
 * Index strategy for large apps: `json_extract(u.attributes, ?)` with a bound path cannot use an
 * index (SQLite matches expression indexes only against constant expressions), so every filter is a
 * scan of the app's users (the `(app_id, …)` primary key bounds it to one app). For hot attributes,
 * add a virtual generated column holding the scalar value and index it with the app id:
 *
 *   ALTER TABLE users ADD COLUMN attr_plan AS (CASE WHEN json_type(attributes, '$."plan"')
 *     IN ('text','integer','real') THEN json_extract(attributes, '$."plan"') END) VIRTUAL;
 *   CREATE INDEX users_attr_plan ON users (app_id, attr_plan);
 *
 * (`generatedColumnSql("plan", "attr_plan")` emits exactly this; the column has no declared type, so
 * no affinity rewrites "5" as 5.) Then compile with `{columns: {plan: "attr_plan"}}`: eq/ne/in/range
 * leaves on `plan` become `typeof(u."attr_plan") IN ('text') AND u."attr_plan" = ?`, which the index serves,
 * with the same results as the JSON form. Boolean and `exists` leaves keep the JSON form (the column
 * holds scalars only). D1 supports generated columns; adding a virtual one is instant (no rewrite).
 */
import { z } from "../zod.js";

export const FILTER_MAX_DEPTH = 5;
export const FILTER_MAX_LEAVES = 50;
export const FILTER_MAX_IN_VALUES = 100;
/** Bound parameters a filter may use; D1's limit per statement is 100. */
export const FILTER_PARAM_BUDGET = 90;
export const D1_MAX_BOUND_PARAMETERS = 100;

const ATTR_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
const COLUMN_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const BUILTIN_COLUMNS: Readonly<Record<string, string>> = { locale: "u.locale", timezone: "u.timezone" };
const OPS = ["eq", "ne", "in", "gt", "gte", "lt", "lte", "exists"] as const;
export type FilterOp = (typeof OPS)[number];

export type FilterValue = string | number | boolean;
export interface FilterLeaf {
	attr: string;
	op: FilterOp;
	value?: FilterValue | FilterValue[];
}
export type Filter = FilterLeaf | { and: Filter[] } | { or: Filter[] };

export class FilterError extends Error {
	constructor(
		message: string,
		readonly path: (string | number)[] = [],
	) {
		super(message);
		this.name = "FilterError";
	}
}

// ─── Schema ──────────────────────────────────────────────────────────────────────────────────────

const Attr = z
	.string()
	.max(128)
	.regex(ATTR_RE, "must be an attribute path such as plan or address.city ([A-Za-z0-9_-] segments joined by dots)")
	// Attributes cannot hold a __proto__ key (request bodies refuse it), so no filter can name one.
	.refine((a) => !a.split(".").includes("__proto__"), "__proto__ is a reserved name");

const Scalar = z.union([z.string().max(1024), z.number().refine(Number.isFinite, "must be finite"), z.boolean()]);

const Leaf = z
	.strictObject({
		attr: Attr,
		op: z.enum(OPS),
		value: z
			.union([
				Scalar,
				z
					.array(z.union([z.string().max(1024), z.number()]))
					.min(1)
					.max(FILTER_MAX_IN_VALUES),
			])
			.optional(),
	})
	.superRefine((l, ctx) => {
		const problem = leafProblem(l);
		if (problem) ctx.addIssue({ code: "custom", path: ["value"], message: problem });
	})
	.openapi("AudienceFilterCondition");

function leafProblem(l: FilterLeaf): string | null {
	// Own properties only: "constructor", "toString" or "__proto__" are attributes like any other.
	const builtin = Object.hasOwn(BUILTIN_COLUMNS, l.attr);
	const v = l.value;
	if (l.op === "exists") {
		return v === undefined || typeof v === "boolean" ? null : "exists takes no value, or true / false";
	}
	if (v === undefined) return `${l.op} needs a value`;
	if (l.op === "in") {
		if (!Array.isArray(v)) return "in needs a list of 1–100 strings or numbers";
		if (v.length === 0 || v.length > FILTER_MAX_IN_VALUES) return "in takes 1–100 values";
		if (v.some((x) => typeof x !== "string" && !(typeof x === "number" && Number.isFinite(x)))) {
			return "in takes strings and numbers";
		}
		if (builtin && v.some((x) => typeof x !== "string")) return `${l.attr} is a string`;
		return null;
	}
	if (Array.isArray(v)) return `${l.op} takes a single value; use in for a list`;
	if (typeof v === "number" && !Number.isFinite(v)) return "numbers must be finite";
	if (typeof v === "boolean" && l.op !== "eq" && l.op !== "ne") return `${l.op} compares strings or numbers, not booleans`;
	if (builtin && typeof v !== "string") return `${l.attr} is a string`;
	return null;
}

const FilterNode: z.ZodType<Filter> = z
	.lazy(() =>
		z.union([
			Leaf,
			z.strictObject({ and: z.array(FilterNode).min(1).max(FILTER_MAX_LEAVES) }),
			z.strictObject({ or: z.array(FilterNode).min(1).max(FILTER_MAX_LEAVES) }),
		]),
	)
	.openapi("AudienceFilterNode", {
		description: "A condition {attr, op, value?}, or {and: [...]} / {or: [...]} of nodes.",
	});

/** Depth and leaf count of raw JSON, iteratively and with early exit (runs before zod recurses). */
function shapeProblem(raw: unknown): { message: string; path: (string | number)[] } | null {
	const stack: { node: unknown; depth: number; path: (string | number)[] }[] = [{ node: raw, depth: 1, path: [] }];
	let leaves = 0;
	while (stack.length > 0) {
		const { node, depth, path } = stack.pop()!;
		if (node === null || typeof node !== "object" || Array.isArray(node)) continue; // zod reports it
		const group = (node as Record<string, unknown>).and ?? (node as Record<string, unknown>).or;
		if (!Array.isArray(group)) {
			leaves++;
			if (leaves > FILTER_MAX_LEAVES) return { message: `a filter has at most ${FILTER_MAX_LEAVES} conditions`, path: [] };
			continue;
		}
		if (depth > FILTER_MAX_DEPTH) {
			return { message: `a filter nests at most ${FILTER_MAX_DEPTH} levels of and/or`, path };
		}
		const key = "and" in (node as object) ? "and" : "or";
		if (group.length > FILTER_MAX_LEAVES) {
			return { message: `a filter has at most ${FILTER_MAX_LEAVES} conditions`, path: [...path, key] };
		}
		for (const [i, child] of group.entries()) stack.push({ node: child, depth: depth + 1, path: [...path, key, i] });
	}
	return null;
}

/**
 * An audience filter. Validation: shape (≤ 5 levels, ≤ 50 conditions), every condition's types, and
 * the compiled statement's bound-parameter count (≤ `FILTER_PARAM_BUDGET`).
 */
export const Filter = z
	.preprocess((raw, ctx) => {
		const problem = shapeProblem(raw);
		if (problem) ctx.issues.push({ code: "custom", message: problem.message, path: problem.path, input: raw });
		return raw;
	}, FilterNode)
	.superRefine((f, ctx) => {
		try {
			compileFilter(f);
		} catch (e) {
			if (e instanceof FilterError) ctx.addIssue({ code: "custom", path: e.path, message: e.message });
			else throw e;
		}
	})
	.openapi("AudienceFilter", {
		description:
			"Conditions on user attributes (and the built-in locale / timezone): eq, ne, in, gt, gte, lt, lte, exists, combined with and / or.",
		example: {
			and: [
				{ attr: "plan", op: "in", value: ["pro", "team"] },
				{ attr: "address.city", op: "eq", value: "Berlin" },
			],
		},
	});

// ─── Compiler ────────────────────────────────────────────────────────────────────────────────────

export interface CompileOptions {
	/** Parameter budget (default `FILTER_PARAM_BUDGET`); lower it when the query binds more of its own. */
	maxParams?: number;
	/** Attribute path → generated column on `users` (see the index strategy in the file comment). */
	columns?: Readonly<Record<string, string>>;
}

export interface CompiledFilter {
	/** A boolean SQL expression over `users u`; wrap it in parentheses when combining. */
	sql: string;
	params: unknown[];
}

/** `plan` → `$."plan"`, `address.city` → `$."address"."city"` (segments are `[A-Za-z0-9_-]`, no quoting needed). */
export function jsonPath(attr: string): string {
	if (!ATTR_RE.test(attr) || attr.length > 128) throw new FilterError("bad attribute path", ["attr"]);
	return `$${attr
		.split(".")
		.map((s) => `."${s}"`)
		.join("")}`;
}

const COMPARATORS: Readonly<Record<string, string>> = { gt: ">", gte: ">=", lt: "<", lte: "<=" };
const NUMBER_TYPES = "('integer','real')";

function isLeaf(f: Filter): f is FilterLeaf {
	return typeof (f as FilterLeaf).attr === "string";
}

/**
 * Compiles a filter to `{sql, params}`. Throws `FilterError` (with the offending path) for anything
 * the `Filter` schema would refuse, including a parameter count over the budget.
 */
export function compileFilter(filter: Filter, opts: CompileOptions = {}): CompiledFilter {
	const maxParams = opts.maxParams ?? FILTER_PARAM_BUDGET;
	const columns = opts.columns ?? {};
	for (const [attr, col] of Object.entries(columns)) {
		if (!ATTR_RE.test(attr) || !COLUMN_RE.test(col)) throw new FilterError(`bad generated column mapping ${attr} → ${col}`);
	}
	const params: unknown[] = [];
	let leaves = 0;

	const leaf = (l: FilterLeaf, path: (string | number)[]): string => {
		if (!OPS.includes(l.op)) throw new FilterError(`unknown op ${String(l.op)}`, [...path, "op"]);
		if (typeof l.attr !== "string" || !ATTR_RE.test(l.attr) || l.attr.length > 128) {
			throw new FilterError("must be an attribute path such as plan or address.city", [...path, "attr"]);
		}
		const problem = leafProblem(l);
		if (problem) throw new FilterError(problem, [...path, "value"]);
		const v = l.value;
		const builtin = Object.hasOwn(BUILTIN_COLUMNS, l.attr) ? BUILTIN_COLUMNS[l.attr] : undefined;
		const column = Object.hasOwn(columns, l.attr) ? `u."${columns[l.attr]}"` : undefined;

		if (builtin) {
			switch (l.op) {
				case "exists":
					return v === false ? `${builtin} IS NULL` : `${builtin} IS NOT NULL`;
				case "eq":
					params.push(v);
					return `(${builtin} IS ?)`;
				case "ne":
					params.push(v);
					return `(${builtin} IS NOT ?)`;
				case "in":
					params.push(JSON.stringify(v));
					return `(${builtin} IS NOT NULL AND ${builtin} IN (SELECT value FROM json_each(?)))`;
				default:
					params.push(v);
					return `(${builtin} IS NOT NULL AND ${builtin} ${COMPARATORS[l.op]} ?)`;
			}
		}

		const attrPath = jsonPath(l.attr);
		const typeOf = () => {
			params.push(attrPath);
			return "json_type(u.attributes, ?)";
		};
		const extract = () => {
			params.push(attrPath);
			return "json_extract(u.attributes, ?)";
		};
		if (l.op === "exists") return v === false ? `(${typeOf()} IS NULL)` : `(${typeOf()} IS NOT NULL)`;
		if (typeof v === "boolean") {
			const test = `(${typeOf()} IS '${v ? "true" : "false"}')`;
			return l.op === "ne" ? `(NOT ${test})` : test;
		}
		if (l.op === "in") {
			const list = v as (string | number)[];
			const types = [
				...(list.some((x) => typeof x === "string") ? ["'text'"] : []),
				...(list.some((x) => typeof x === "number") ? ["'integer'", "'real'"] : []),
			].join(",");
			if (column) {
				params.push(JSON.stringify(list));
				// typeof() is never NULL, so this is 0/1 without COALESCE, and stays a plain AND term the index serves.
				return `(typeof(${column}) IN (${types}) AND ${column} IN (SELECT value FROM json_each(?)))`;
			}
			const t = typeOf();
			const x = extract();
			params.push(JSON.stringify(list));
			return `COALESCE(${t} IN (${types}) AND ${x} IN (SELECT value FROM json_each(?)), 0)`;
		}
		const types = typeof v === "string" ? "('text')" : NUMBER_TYPES;
		const cmp = l.op === "eq" || l.op === "ne" ? "=" : COMPARATORS[l.op]!;
		let test: string;
		if (column) {
			params.push(v);
			test = `(typeof(${column}) IN ${types} AND ${column} ${cmp} ?)`;
		} else {
			const t = typeOf();
			const x = extract();
			params.push(v);
			test = `COALESCE(${t} IN ${types} AND ${x} ${cmp} ?, 0)`;
		}
		return l.op === "ne" ? `(NOT ${test})` : test;
	};

	const node = (f: Filter, depth: number, path: (string | number)[]): string => {
		if (f === null || typeof f !== "object") throw new FilterError("a filter node is an object", path);
		if (isLeaf(f)) {
			leaves++;
			if (leaves > FILTER_MAX_LEAVES) throw new FilterError(`a filter has at most ${FILTER_MAX_LEAVES} conditions`);
			return leaf(f, path);
		}
		const key = "and" in f ? "and" : "or" in f ? "or" : undefined;
		const children = key === "and" ? (f as { and: Filter[] }).and : key === "or" ? (f as { or: Filter[] }).or : undefined;
		if (!key || !Array.isArray(children) || children.length === 0) {
			throw new FilterError("a filter node is a condition {attr, op, value} or {and: [...]} / {or: [...]}", path);
		}
		if (depth > FILTER_MAX_DEPTH) throw new FilterError(`a filter nests at most ${FILTER_MAX_DEPTH} levels of and/or`, path);
		const parts = children.map((c, i) => node(c, depth + 1, [...path, key, i]));
		return `(${parts.join(key === "and" ? " AND " : " OR ")})`;
	};

	const sql = node(filter, 1, []);
	if (params.length > maxParams) {
		throw new FilterError(
			`this filter needs ${params.length} bound parameters; at most ${maxParams} fit in one statement (D1 allows ${D1_MAX_BOUND_PARAMETERS}): use fewer conditions or in lists`,
		);
	}
	return { sql, params };
}

/**
 * DDL for indexing a hot attribute through a virtual generated column (see the file comment).
 * `attr` and `column` are operator configuration, checked against strict patterns before they are
 * spliced into the DDL (DDL cannot take bound parameters).
 */
export function generatedColumnSql(attr: string, column: string): string[] {
	if (!COLUMN_RE.test(column)) throw new FilterError(`bad column name ${column}`);
	const path = jsonPath(attr);
	return [
		`ALTER TABLE users ADD COLUMN "${column}" AS (CASE WHEN json_type(attributes, '${path}') IN ('text','integer','real') THEN json_extract(attributes, '${path}') END) VIRTUAL`,
		`CREATE INDEX "users_${column}" ON users (app_id, "${column}")`,
	];
}
