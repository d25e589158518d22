/**
 * A generated corpus of bad requests, from the served OpenAPI document: for every operation, bad
 * credentials of every kind, bodies that are not JSON objects, every field of the request body
 * with a value of a type it does not take, every required field missing, an unknown field, bodies
 * too large or too deep, odd path parameters and the wrong methods. Mutations are picked with a
 * seeded generator (fast-check), so a failure names a request that can be replayed.
 *
 * Every answer: no 5xx, a 4xx (nothing here is a valid request), the contract's error shape with a
 * code that matches the status; and every D1 table is exactly as it was before the corpus ran.
 */
import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../../../protocol/errors.js";
import { ADMIN, BASE, call, newApp, newKey } from "../http.js";
import { snapshot } from "./helpers.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface SchemaObject {
	$ref?: string;
	type?: string | string[];
	properties?: Record<string, SchemaObject>;
	required?: string[];
	anyOf?: SchemaObject[];
	oneOf?: SchemaObject[];
	allOf?: SchemaObject[];
	enum?: unknown[];
	const?: unknown;
	nullable?: boolean;
}
interface Operation {
	method: string;
	path: string;
	security?: Record<string, string[]>[];
	requestBody?: { content: Record<string, { schema: SchemaObject }> };
}
interface Case {
	name: string;
	method: string;
	path: string;
	auth: string | null;
	body?: string;
	contentType?: string;
	/** A Cookie header (console sessions stand in for the credential when no Authorization is sent). */
	cookie?: string;
}

const SEED = 20261201;
const METHODS = ["get", "post", "put", "patch", "delete"];

let doc: {
	paths: Record<string, Record<string, Omit<Operation, "method" | "path">>>;
	components: { schemas: Record<string, SchemaObject> };
};
let fullKey = "";
let revokedKey = "";
const cases: Case[] = [];

function resolve(s: SchemaObject | undefined): SchemaObject | undefined {
	let cur = s;
	for (let i = 0; cur?.$ref && i < 10; i++) cur = doc.components.schemas[cur.$ref.split("/").pop() ?? ""];
	return cur;
}

/** The JSON types a schema takes; undefined when it cannot be told (then no wrong type is generated). */
function typesOf(s: SchemaObject | undefined): Set<string> | undefined {
	const r = resolve(s);
	if (!r) return undefined;
	const alts = r.anyOf ?? r.oneOf;
	if (alts) {
		const all = new Set<string>();
		for (const a of alts) {
			const t = typesOf(a);
			if (!t) return undefined;
			for (const x of t) all.add(x);
		}
		return all;
	}
	if (r.allOf) {
		// A nullable reference is written `{allOf: [{$ref}, {type: ["object", "null"]}]}`: null is one of its types.
		const t = typesOf(r.allOf[0]);
		if (t && (r.nullable || r.allOf.slice(1).some((a) => typesOf(a)?.has("null")))) t.add("null");
		return t;
	}
	if (r.enum) return new Set(r.enum.map((v) => (v === null ? "null" : typeof v)));
	if (r.const !== undefined) return new Set([typeof r.const]);
	const t = r.type === undefined ? undefined : Array.isArray(r.type) ? r.type : [r.type];
	if (!t) return undefined;
	const out = new Set(t.map((x) => (x === "integer" ? "number" : x)));
	if (r.nullable) out.add("null");
	return out;
}

const SAMPLES: Record<string, Json[]> = {
	string: ["x", "", "\u0000", "😀".repeat(3)],
	number: [0, -1, 1.5, 1e300],
	boolean: [true, false],
	object: [{}, { a: 1 }],
	array: [[], [1, "a"]],
	null: [null],
};

/** A value of a JSON type the field does not take. */
function wrongTypeValues(allowed: Set<string>): Json[] {
	const out: Json[] = [];
	for (const [type, values] of Object.entries(SAMPLES)) {
		if (allowed.has(type)) continue;
		// Any object also matches a schema that takes objects of a kind we cannot see; numbers are strings' neighbours.
		out.push(...values);
	}
	return out;
}

/** A valid-looking value for a path parameter, so the request reaches validation of the rest. */
const param = (name: string) => (name.toLowerCase().includes("app") ? "app_corpus" : "corpus-1");
const fill = (path: string, f: (name: string) => string) => path.replace(/\{([^}]+)\}/g, (_, n: string) => f(n));

function operations(): Operation[] {
	const out: Operation[] = [];
	for (const [path, ops] of Object.entries(doc.paths)) {
		for (const m of METHODS) {
			const op = ops[m];
			if (op) out.push({ ...op, method: m.toUpperCase(), path });
		}
	}
	return out;
}

function authFor(op: Operation): string {
	const scheme = Object.keys(op.security?.[0] ?? {})[0];
	return scheme === "adminToken" ? `Bearer ${ADMIN}` : `Bearer ${fullKey}`;
}

function build() {
	const pick = <T>(arb: fc.Arbitrary<T>, n: number, seed: number) => fc.sample(arb, { numRuns: n, seed });
	let seed = SEED;
	for (const op of operations()) {
		if (op.path === "/v1/connect" || op.path.startsWith("/v1/openapi") || op.path.startsWith("/docs")) continue;
		const path = fill(op.path, param);
		const auth = authFor(op);
		const name = (what: string) => `${op.method} ${op.path}: ${what}`;
		// Credentials of every kind (the route is never reached).
		const bad: [string, string | null][] = [
			["no credential", null],
			["Basic scheme", "Basic YWRtaW46YWRtaW4="],
			["garbage bearer", "Bearer garbage"],
			["unknown key", "Bearer wbsk.key_000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
			["revoked key", `Bearer ${revokedKey}`],
			[
				"admin token where a key belongs (or a key where the admin token belongs)",
				auth.includes(ADMIN) ? `Bearer ${fullKey}` : `Bearer ${ADMIN}`,
			],
			["credential of 5,000 characters", `Bearer ${"x".repeat(5000)}`],
		];
		for (const [what, a] of bad) cases.push({ name: name(what), method: op.method, path, auth: a });
		// Console session cookies that open nothing (unknown, malformed): never past authentication.
		for (const [what, cookie] of [
			["unknown console session", `warbler_session=${"A".repeat(43)}`],
			["malformed console session", "warbler_session=%00;;=x"],
		] as const) {
			cases.push({ name: name(what), method: op.method, path, auth: null, cookie });
		}
		// Odd path parameters.
		if (op.path.includes("{")) {
			for (const odd of pick(
				fc.constantFrom("..", "%00", "a%2Fb", "x".repeat(300), "%F0%9F%98%80", "%20", "a b", "'or'1'='1"),
				4,
				seed++,
			)) {
				cases.push({ name: name(`path parameter ${odd.slice(0, 20)}`), method: op.method, path: fill(op.path, () => odd), auth });
			}
		}
		// The wrong method for this path.
		const other = METHODS.find((m) => !doc.paths[op.path]?.[m]);
		if (other) cases.push({ name: name(`method ${other}`), method: other.toUpperCase(), path, auth });
		const schema = resolve(op.requestBody?.content["application/json"]?.schema);
		if (!op.requestBody || !schema) continue;
		// Bodies that are not JSON objects, or not JSON.
		const whole: [string, string, string?][] = [
			["array body", "[]"],
			["string body", '"x"'],
			["number body", "42"],
			["null body", "null"],
			["malformed JSON", '{"a":'],
			["JSON nested 200 deep", `${"[".repeat(200)}1${"]".repeat(200)}`],
			["body over 1 MiB", JSON.stringify({ pad: "x".repeat(1_100_000) })],
			["form body", "a=1&b=2", "application/x-www-form-urlencoded"],
			["__proto__ key", '{"__proto__":{"polluted":true}}'],
		];
		for (const [what, body, contentType] of whole) {
			cases.push({ name: name(what), method: op.method, path, auth, body, contentType: contentType ?? "application/json" });
		}
		if (!schema.properties) continue;
		// A minimal object: every required field with a value of the wrong type, then each missing.
		const props = Object.entries(schema.properties);
		for (const [field, sub] of props) {
			const allowed = typesOf(sub);
			if (!allowed) continue;
			for (const v of pick(fc.constantFrom(...wrongTypeValues(allowed)), 2, seed++)) {
				cases.push({
					name: name(`${field} = ${JSON.stringify(v).slice(0, 30)}`),
					method: op.method,
					path,
					auth,
					body: JSON.stringify({ [field]: v }),
					contentType: "application/json",
				});
			}
		}
		for (const field of schema.required ?? []) {
			cases.push({
				name: name(`only ${field} missing (and the rest empty)`),
				method: op.method,
				path,
				auth,
				body: "{}",
				contentType: "application/json",
			});
		}
		cases.push({
			name: name("an unknown field"),
			method: op.method,
			path,
			auth,
			body: JSON.stringify({ "no-such-field": 1 }),
			contentType: "application/json",
		});
	}
}

async function send(c: Case) {
	const headers: Record<string, string> = {};
	if (c.auth !== null) headers.authorization = c.auth;
	if (c.contentType) headers["content-type"] = c.contentType;
	if (c.cookie) headers.cookie = c.cookie;
	const res = await exports.default.fetch(`${BASE}${c.path}`, { method: c.method, headers, body: c.body });
	const text = await res.text();
	return { status: res.status, text, type: res.headers.get("content-type") ?? "" };
}

describe("a generated corpus of bad requests", () => {
	beforeAll(async () => {
		const { appId, key } = await newApp("corpus app");
		fullKey = key;
		const revoked = await newKey(appId, ["read"], "to revoke");
		revokedKey = revoked.secret;
		expect((await call("DELETE", `/v1/apps/${appId}/keys/${revoked.id}`, ADMIN)).status).toBe(204);
		doc = (await (await exports.default.fetch(`${BASE}/v1/openapi.json`)).json()) as typeof doc;
		build();
	});

	it("answers every case with a 4xx in the contract's shape, and changes nothing", async () => {
		expect(cases.length).toBeGreaterThanOrEqual(600);
		const before = await snapshot();
		const failures: string[] = [];
		for (const c of cases) {
			const r = await send(c);
			const problem = ((): string | null => {
				if (r.status >= 500) return `${r.status}`;
				if (r.status < 400) return `accepted with ${r.status}`;
				if (!r.type.startsWith("application/json")) return `${r.status} not JSON`;
				const body = JSON.parse(r.text) as { error?: { code?: string; message?: string } };
				const code = body.error?.code as keyof typeof ERROR_STATUS | undefined;
				if (!code || !(code in ERROR_STATUS)) return `${r.status} without a contract error code`;
				if (ERROR_STATUS[code] !== r.status) return `${r.status} with code ${code}`;
				if (!body.error?.message) return `${r.status} without a message`;
				return null;
			})();
			if (problem) failures.push(`${c.name} → ${problem}: ${r.text.slice(0, 160)}`);
		}
		expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
		expect(await snapshot()).toEqual(before);
	}, 120_000);
});
