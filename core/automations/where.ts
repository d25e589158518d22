/**
 * An automation's `trigger.where`: the audience `Filter` shape, evaluated in JS against an event's
 * `properties` (no SQL involved). Same semantics as the SQL compiler in `scheduling/filter.ts`:
 * - typed comparisons: a string value matches only string properties (code-point order), a number
 *   only numbers, a boolean only that boolean (eq / ne);
 * - `ne` is NOT `eq`: a missing property (or one of another type) matches `ne`;
 * - `exists` is true for any present value, JSON null included; `{op: "exists", value: false}` negates it;
 * - `in` matches a string or number equal (same type) to one of the list;
 * - `attr` paths walk nested objects (`address.city`), never arrays.
 */
import type { Filter, FilterLeaf, FilterValue } from "../rules/filter.js";

type Props = Readonly<Record<string, unknown>>;

function lookup(properties: Props | undefined, attr: string): { found: boolean; value: unknown } {
	let cur: unknown = properties;
	for (const seg of attr.split(".")) {
		if (cur === null || typeof cur !== "object" || Array.isArray(cur) || !Object.hasOwn(cur, seg)) {
			return { found: false, value: undefined };
		}
		cur = (cur as Record<string, unknown>)[seg];
	}
	return { found: true, value: cur };
}

function sameType(a: unknown, b: FilterValue): boolean {
	return typeof a === typeof b && (typeof b !== "number" || Number.isFinite(a));
}

function leaf(l: FilterLeaf, properties: Props | undefined): boolean {
	const { found, value } = lookup(properties, l.attr);
	const v = l.value;
	switch (l.op) {
		case "exists":
			return v === false ? !found : found;
		case "eq":
			return found && v !== undefined && !Array.isArray(v) && sameType(value, v) && value === v;
		case "ne":
			return !(found && v !== undefined && !Array.isArray(v) && sameType(value, v) && value === v);
		case "in":
			return (
				found &&
				Array.isArray(v) &&
				(typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) &&
				v.includes(value)
			);
		default: {
			if (!found || v === undefined || Array.isArray(v) || typeof v === "boolean" || !sameType(value, v)) return false;
			const a = value as string | number;
			switch (l.op) {
				case "gt":
					return a > v;
				case "gte":
					return a >= v;
				case "lt":
					return a < v;
				case "lte":
					return a <= v;
				default:
					return false;
			}
		}
	}
}

/** True when `properties` satisfy `filter` (an absent filter matches everything). */
export function matchesWhere(filter: Filter | undefined, properties: Props | undefined): boolean {
	if (!filter) return true;
	if ("and" in filter) return filter.and.every((f) => matchesWhere(f, properties));
	if ("or" in filter) return filter.or.some((f) => matchesWhere(f, properties));
	return leaf(filter, properties);
}
