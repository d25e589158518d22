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
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { RECEIPT_CHANNELS, type ReceiptChannel, receiptToken } from "../../../core/receipts/token.js";
import { ERROR_STATUS } from "../../../protocol/errors.js";
import { ADMIN, BASE, call, newApp, newKey } from "../http.js";
import { snapshot, vendorSentMessage } from "./helpers.js";

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

/** What is wrong with an answer to a bad request: a 5xx, a success, or not the contract's error shape. */
function errorProblem(r: { status: number; text: string; type: string }): string | null {
	if (r.status >= 500) return `${r.status}`;
	if (r.status < 400) return `accepted with ${r.status}`;
	if (!r.type.startsWith("application/json")) return `${r.status} not JSON`;
	const body = JSON.parse(r.text) as { error?: { code?: string; message?: string } };
	const code = body.error?.code as keyof typeof ERROR_STATUS | undefined;
	if (!code || !(code in ERROR_STATUS)) return `${r.status} without a contract error code`;
	if (ERROR_STATUS[code] !== r.status) return `${r.status} with code ${code}`;
	if (!body.error?.message) return `${r.status} without a message`;
	return null;
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
			const problem = errorProblem(r);
			if (problem) failures.push(`${c.name} → ${problem}: ${r.text.slice(0, 160)}`);
		}
		expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
		expect(await snapshot()).toEqual(before);
	}, 120_000);
});

/**
 * Vendor receipt posts (no app key: the URL's token is the credential, so the generated cases above
 * stop at its 404). With a valid token, each vendor's own format gone wrong: malformed JSON, the
 * wrong content type, too large, too deep, too many receipts or messages; and valid receipts with a
 * wrong token, another app's id or another channel's token. Each body names a device the message
 * was pushed to, so a wrongly accepted post would show in its counts: none may.
 */
describe("vendor receipt posts gone wrong (docs/api.md: Vendor receipts)", () => {
	const FORM = "application/x-www-form-urlencoded";
	const JSON_TYPE = "application/json";
	const tok = (c: ReceiptChannel, id: string) => `${c}-corpus-${id}`;

	/** `n` receipts in the vendor's own format for `token`, the i-th naming message `param(i)`. */
	function receiptBody(c: ReceiptChannel, token: string, n: number, param: (i: number) => string) {
		const now = Date.now();
		const each = Array.from({ length: n }, (_, i) => i);
		const keyed = (entry: (i: number) => unknown) => Object.fromEntries(each.map((i) => [`k${i}`, entry(i)]));
		switch (c) {
			case "oppo":
				return {
					type: JSON_TYPE,
					body: JSON.stringify(
						each.map((i) => ({ messageId: `o${i}`, registrationIds: token, eventTime: String(now), param: param(i) })),
					),
				};
			case "hms":
				return {
					type: JSON_TYPE,
					body: JSON.stringify({
						statuses: each.map((i) => ({ biTag: param(i), appid: "1", token, status: 0, timestamp: now, requestId: "r" })),
					}),
				};
			case "xiaomi": {
				const data = keyed((i) => ({ param: param(i), type: 1, targets: token, timestamp: now }));
				return { type: FORM, body: new URLSearchParams({ data: JSON.stringify(data) }).toString() };
			}
			case "meizu": {
				const cb = keyed((i) => ({ param: param(i), type: 1, targets: [token] }));
				return { type: FORM, body: new URLSearchParams({ cb: JSON.stringify(cb), access_token: "at" }).toString() };
			}
			case "vivo":
				return {
					type: JSON_TYPE,
					body: JSON.stringify(keyed((i) => ({ param: param(i), targets: token, ackTime: now, ackType: "0" }))),
				};
		}
	}

	it("each is its documented 4xx in the contract's shape, never a 5xx, and counts nothing", async () => {
		const a = await newApp("receipt corpus a");
		const b = await newApp("receipt corpus b");
		const id = await vendorSentMessage(
			a,
			"u1",
			RECEIPT_CHANNELS.map((c) => ({ channel: c, deviceId: `d-${c}`, token: (m: string) => tok(c, m) })),
		);
		const failures: string[] = [];
		let count = 0;
		for (const c of RECEIPT_CHANNELS) {
			const token = await receiptToken(env, c, a.appId);
			const flipped = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
			const valid = receiptBody(c, tok(c, id), 1, () => id);
			const otherChannel = await receiptToken(env, c === "oppo" ? "hms" : "oppo", a.appId);
			// [what, app, token, content type, body, documented status]
			const rows: [string, string, string, string, string, number][] = [
				["malformed JSON", a.appId, token, JSON_TYPE, '{"a":', 400],
				// JSON vendors given a form, form vendors' form labelled JSON: neither is the vendor's format.
				valid.type === FORM
					? ["form labelled JSON", a.appId, token, JSON_TYPE, valid.body, 400]
					: ["a form instead of JSON", a.appId, token, FORM, `param=${id}&targets=${tok(c, id)}`, 400],
				["body over 1 MiB", a.appId, token, JSON_TYPE, JSON.stringify({ pad: "x".repeat(1_100_000) }), 413],
				["JSON nested 200 deep", a.appId, token, JSON_TYPE, `${"[".repeat(200)}1${"]".repeat(200)}`, 400],
				["1,001 receipts", a.appId, token, valid.type, receiptBody(c, tok(c, id), 1001, () => id).body, 400],
				["91 distinct messages", a.appId, token, valid.type, receiptBody(c, tok(c, id), 91, (i) => `${id}${i}`).body, 400],
				["a wrong token", a.appId, flipped, valid.type, valid.body, 404],
				["another app's id with this app's token", b.appId, token, valid.type, valid.body, 404],
				["another channel's token", a.appId, otherChannel, valid.type, valid.body, 404],
			];
			for (const [what, app, t, type, body, status] of rows) {
				count++;
				const r = await send({
					name: what,
					method: "POST",
					path: `/v1/receipts/${c}/${app}/${t}`,
					auth: null,
					body,
					contentType: type,
				});
				const problem = errorProblem(r) ?? (r.status === status ? null : `${r.status}, documented ${status}`);
				if (problem) failures.push(`${c}: ${what} → ${problem}: ${r.text.slice(0, 160)}`);
			}
		}
		expect(count).toBe(RECEIPT_CHANNELS.length * 9);
		expect(failures, failures.join("\n")).toEqual([]);
		const counts = (await call("GET", `/v1/messages/${id}`, a.key)).body.counts.by_channel as Record<
			string,
			{ sent: number; delivered?: number }
		>;
		for (const c of RECEIPT_CHANNELS) {
			expect(counts[c]?.sent, c).toBe(1);
			expect(counts[c]?.delivered, c).toBeUndefined();
		}
		// The templates themselves are valid: posted right, each counts its device.
		for (const c of RECEIPT_CHANNELS) {
			const { type, body } = receiptBody(c, tok(c, id), 1, () => id);
			const path = `/v1/receipts/${c}/${a.appId}/${await receiptToken(env, c, a.appId)}`;
			expect((await send({ name: c, method: "POST", path, auth: null, body, contentType: type })).status, c).toBe(200);
		}
		const after = (await call("GET", `/v1/messages/${id}`, a.key)).body.counts.by_channel as Record<
			string,
			{ delivered?: number }
		>;
		for (const c of RECEIPT_CHANNELS) expect(after[c]?.delivered, c).toBe(1);
	});
});
