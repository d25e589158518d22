/**
 * Message templates: per-locale content variants with `{{…}}` variables, rendered per recipient.
 *
 * Design (`TemplateBody`):
 *
 *   {
 *     "name": "order-shipped",
 *     "default_locale": "en",                        // optional; must name a variant
 *     "variants": {                                  // 1..50, keyed by BCP 47 tag
 *       "en":    {"type": "text", "title": "Hi {{user.attributes.first_name|there}}",
 *                 "body": "Order {{event.properties.order_id}} shipped", "url": "https://x.example/o/{{vars.order}}"},
 *       "zh-CN": {"type": "text", "title": "{{user.attributes.first_name|您好}}", "body": "…"}
 *     }
 *   }
 *
 * A variant is Content-shaped (type, title, body, media, url, data, vendor passthroughs) with every
 * string a template. Variables: `{{user.id}}`, `{{user.locale}}`, `{{user.attributes.a.b.c}}`,
 * `{{event.name}}`, `{{event.properties.y}}`, `{{vars.z}}` (the message's `variables`); path segments
 * are `[A-Za-z0-9_-]{1,64}`, at most 10 below the root. `{{path|text}}` gives a default.
 *
 * Why it is built this way:
 * - No expression language, no helpers, no loops: a path lookup is all a push needs, and nothing in
 *   a template can execute code. Lookups walk own properties only; `__proto__`, `constructor` and
 *   `prototype` segments resolve to missing, so no template reaches `Object.prototype`.
 * - Validation (`TemplateBody`) refuses unknown roots and bad paths when the template is saved (400
 *   naming the field); rendering never throws: whatever slipped through renders as missing.
 * - Missing variables (documented behaviour): a path that does not resolve, or resolves to null or
 *   an empty string, renders as its `|default` text when one is given, else as the empty string.
 *   Any `{{…}}` in the template is always replaced, so no braces reach a device. Substituted values
 *   are inserted verbatim and never re-scanned (an attribute holding `{{vars.x}}` stays literal text).
 *   Numbers and booleans render as `String(v)`, objects and arrays as JSON.
 * - `\{{` renders as two literal braces (the one escape: `{{` otherwise always starts a variable).
 * - Nothing is escaped in values (a push is not HTML); sizes are capped instead: one substituted value ≤
 *   `MAX_VALUE_CHARS`, `title` ≤ 1,024 chars, URL fields ≤ 2,048, and substitutions stop growing the
 *   content once its JSON would pass 64 KiB (values are truncated at a code-point boundary). Fields
 *   are filled in the order type, title, url, media, body, then the rest (data, vendor passthroughs),
 *   so a huge variable in the body cannot starve the title or the click URL. A `url`
 *   or `media.thumbnail_url` that renders empty is dropped (it is optional and "" is no URL). The
 *   caller still validates the result with `Content` (a rendered URL may not be a URL).
 * - Variant choice for a recipient locale: exact tag (case-insensitive, `_` = `-`), then the bare
 *   language (zh-CN → zh), then another region of the same language (zh-TW → zh-CN, first in the
 *   template's order), then `default_locale`, then the first variant.
 */

import { JsonValue } from "../json.js";
import { checkContentShape } from "../messages/content-shape.js";
import { z } from "../zod.js";

export const MAX_VARIANTS = 50;
export const MAX_VALUE_CHARS = 2048;
export const MAX_FALLBACK_CHARS = 256;
export const MAX_EXPRESSIONS_PER_VARIANT = 500;
export const MAX_TEMPLATE_CONTENT_BYTES = 64 * 1024;
const MAX_PATH_SEGMENTS = 10;
const TITLE_MAX = 1024;
const URL_MAX = 2048;

const encoder = new TextEncoder();
const utf8Bytes = (s: string) => encoder.encode(s).byteLength;

// ─── Expressions ─────────────────────────────────────────────────────────────────────────────────

const SEGMENT_RE = /^[A-Za-z0-9_-]{1,64}$/;
const FORBIDDEN_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);

interface Expression {
	path: string;
	fallback: string | undefined;
}

/**
 * Every `{{…}}` in a string, left to right: what `/\{\{([\s\S]*?)\}\}/g` would find, in linear time
 * (that regex rescans the rest of the string from every `{{` it cannot close: 64 KiB of `{` took
 * 0.6 s of CPU).
 */
function* expressionsIn(s: string): Generator<{ index: number; length: number; inner: string; literal?: string }> {
	let from = 0;
	for (;;) {
		const open = s.indexOf("{{", from);
		if (open < 0) return;
		// `\{{` is two literal braces (the documented escape): no expression starts there.
		if (open > 0 && s[open - 1] === "\\") {
			yield { index: open - 1, length: 3, inner: "", literal: "{{" };
			from = open + 2;
			continue;
		}
		const close = s.indexOf("}}", open + 2);
		// No "}}" after this "{{": none after any later "{{" either.
		if (close < 0) return;
		yield { index: open, length: close + 2 - open, inner: s.slice(open + 2, close) };
		from = close + 2;
	}
}

function parseExpression(inner: string): Expression {
	const bar = inner.indexOf("|");
	return bar < 0
		? { path: inner.trim(), fallback: undefined }
		: { path: inner.slice(0, bar).trim(), fallback: inner.slice(bar + 1).trim() };
}

/** Null when `path` is a variable this renderer knows, else why not. */
export function variablePathProblem(path: string): string | null {
	const segments = path.split(".");
	const root = segments[0];
	const rest = segments.slice(1);
	if (path === "user.id" || path === "user.locale" || path === "event.name") return null;
	const containers: Record<string, number> = { vars: 1, "user.attributes": 2, "event.properties": 2 };
	const key = root === "vars" ? "vars" : segments.slice(0, 2).join(".");
	const depth = containers[key];
	if (depth === undefined) {
		return `unknown variable "${path}": use user.id, user.locale, user.attributes.<path>, event.name, event.properties.<path> or vars.<name>`;
	}
	const below = key === "vars" ? rest : rest.slice(1);
	if (below.length === 0) return `"${path}" needs a name after ${key}.`;
	if (below.length > MAX_PATH_SEGMENTS) return `"${path}" is deeper than ${MAX_PATH_SEGMENTS} levels`;
	for (const s of below) {
		if (!SEGMENT_RE.test(s)) return `"${path}": each path segment is 1–64 characters of [A-Za-z0-9_-]`;
		if (FORBIDDEN_SEGMENTS.has(s)) return `"${path}": "${s}" is not allowed in a variable path`;
	}
	return null;
}

// ─── Schemas ─────────────────────────────────────────────────────────────────────────────────────

const LOCALE_RE = /^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8}){0,5}$/;
export const Locale = z
	.string()
	.max(64)
	.regex(LOCALE_RE, "must be a BCP 47 language tag such as en, zh-CN or pt-BR")
	.openapi({ example: "zh-CN" });

const TemplateString = z.string().max(MAX_TEMPLATE_CONTENT_BYTES);

/** Content-shaped, with every string a template; URLs are checked after rendering, not here. */
/** Where a content's `{{…}}` are wrong: unknown variables, bad paths, long defaults, too many. */
export function expressionProblems(content: unknown): { path: (string | number)[]; message: string }[] {
	const out: { path: (string | number)[]; message: string }[] = [];
	let expressions = 0;
	walkStrings(content, [], (s, path) => {
		for (const m of expressionsIn(s)) {
			if (m.literal !== undefined) continue;
			expressions++;
			const e = parseExpression(m.inner);
			const problem = variablePathProblem(e.path);
			if (problem) out.push({ path, message: problem });
			else if (e.fallback !== undefined && e.fallback.length > MAX_FALLBACK_CHARS) {
				out.push({ path, message: `a default is at most ${MAX_FALLBACK_CHARS} characters` });
			}
		}
	});
	if (expressions > MAX_EXPRESSIONS_PER_VARIANT) {
		out.push({ path: [], message: `at most ${MAX_EXPRESSIONS_PER_VARIANT} {{…}} per variant` });
	}
	return out;
}

/** Whether any string of the content has `{{` (a variable, or the `\{{` escape): it renders per recipient. */
export function hasExpressions(content: unknown): boolean {
	let found = false;
	walkStrings(content, [], (s) => {
		if (!found && s.includes("{{")) found = true;
	});
	return found;
}

export const TemplateContent = z
	.strictObject({
		type: z.enum(["text", "image", "video", "audio", "file", "custom"]),
		title: TemplateString.optional(),
		body: TemplateString.optional(),
		media: z
			.strictObject({
				url: TemplateString,
				mime: z.string().max(128).optional(),
				size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
				width: z.number().int().min(1).max(100_000).optional(),
				height: z.number().int().min(1).max(100_000).optional(),
				duration_ms: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
				thumbnail_url: TemplateString.optional(),
			})
			.optional(),
		url: TemplateString.optional(),
		data: z.record(z.string(), JsonValue).optional(),
		apns: z.record(z.string(), JsonValue).optional(),
		fcm: z.record(z.string(), JsonValue).optional(),
		hms: z.record(z.string(), JsonValue).optional(),
		xiaomi: z.record(z.string(), JsonValue).optional(),
		webpush: z.record(z.string(), JsonValue).optional(),
		oppo: z.record(z.string(), JsonValue).optional(),
		vivo: z.record(z.string(), JsonValue).optional(),
		honor: z.record(z.string(), JsonValue).optional(),
		meizu: z.record(z.string(), JsonValue).optional(),
	})
	.superRefine((c, ctx) => {
		checkContentShape(c, ctx);
		if (utf8Bytes(JSON.stringify(c)) > MAX_TEMPLATE_CONTENT_BYTES) {
			// Too big already: no need to scan it for variables.
			ctx.addIssue({ code: "custom", path: [], message: "a variant, serialized, must stay within 64 KiB" });
			return;
		}
		for (const issue of expressionProblems(c)) ctx.addIssue({ code: "custom", ...issue });
	})
	.openapi("TemplateContent");
export type TemplateContent = z.infer<typeof TemplateContent>;

const normalizeLocale = (tag: string) => tag.replace(/_/g, "-").toLowerCase();

export const TemplateBody = z
	.strictObject({
		name: z.string().min(1).max(128),
		description: z.string().max(1024).optional(),
		default_locale: Locale.optional(),
		variants: z.record(Locale, TemplateContent),
	})
	.superRefine((t, ctx) => {
		const keys = Object.keys(t.variants);
		if (keys.length === 0) ctx.addIssue({ code: "custom", path: ["variants"], message: "give at least one variant" });
		if (keys.length > MAX_VARIANTS) {
			ctx.addIssue({ code: "custom", path: ["variants"], message: `at most ${MAX_VARIANTS} variants` });
		}
		const seen = new Map<string, string>();
		for (const k of keys) {
			const n = normalizeLocale(k);
			const earlier = seen.get(n);
			if (earlier !== undefined) {
				ctx.addIssue({ code: "custom", path: ["variants", k], message: `the same locale as "${earlier}"` });
			}
			seen.set(n, k);
		}
		if (t.default_locale !== undefined && !seen.has(normalizeLocale(t.default_locale))) {
			ctx.addIssue({ code: "custom", path: ["default_locale"], message: "must be one of the variants' locales" });
		}
	})
	.openapi("TemplateBody", {
		example: {
			name: "order-shipped",
			default_locale: "en",
			variants: {
				en: { type: "text", title: "Hi {{user.attributes.first_name|there}}", body: "Order {{vars.order_id}} shipped" },
				"zh-CN": { type: "text", title: "{{user.attributes.first_name|您好}}", body: "订单 {{vars.order_id}} 已发货" },
			},
		},
	});
export type TemplateBody = z.infer<typeof TemplateBody>;

/** A message's `variables` (the `vars.` root): at most 100 names, 16 KiB serialized. */
export const TemplateVariables = z
	.record(z.string().regex(SEGMENT_RE, "variable names are 1–64 characters of [A-Za-z0-9_-]"), JsonValue)
	.refine((v) => Object.keys(v).length <= 100, "at most 100 variables")
	.refine((v) => utf8Bytes(JSON.stringify(v)) <= 16 * 1024, "variables, serialized, must stay within 16 KiB")
	.openapi("TemplateVariables");

// ─── Rendering ───────────────────────────────────────────────────────────────────────────────────

export interface RenderContext {
	user: { id: string; attributes?: Record<string, unknown> | null; locale?: string | null };
	event?: { name: string; properties?: Record<string, unknown> | null } | null;
	vars?: Record<string, unknown> | null;
}

/** Rendered content: the variant's shape with every string substituted (validate with `Content`). */
export type RenderedContent = Record<string, unknown> & { type: string };

/** The variant for `locale` (null/undefined → `default_locale`, then the first); see the file comment. */
export function chooseVariant(
	template: Pick<TemplateBody, "variants" | "default_locale">,
	locale: string | null | undefined,
): { locale: string; content: TemplateContent } {
	const entries = Object.entries(template.variants);
	const find = (pred: (k: string) => boolean) => entries.find(([k]) => pred(normalizeLocale(k)));
	let hit: [string, TemplateContent] | undefined;
	if (locale) {
		const want = normalizeLocale(locale);
		const language = want.split("-")[0]!;
		hit = find((k) => k === want) ?? find((k) => k === language) ?? find((k) => k.split("-")[0] === language);
	}
	if (!hit && template.default_locale) {
		const def = normalizeLocale(template.default_locale);
		hit = find((k) => k === def);
	}
	hit ??= entries[0];
	if (!hit) throw new RangeError("a template needs at least one variant");
	return { locale: hit[0], content: hit[1] };
}

function lookup(root: unknown, segments: readonly string[]): unknown {
	let cur: unknown = root;
	for (const s of segments) {
		if (FORBIDDEN_SEGMENTS.has(s)) return undefined;
		if (cur === null || typeof cur !== "object") return undefined;
		if (!Object.hasOwn(cur, s)) return undefined;
		cur = (cur as Record<string, unknown>)[s];
	}
	return cur;
}

function resolve(path: string, ctx: RenderContext): unknown {
	if (variablePathProblem(path) !== null) return undefined;
	const segments = path.split(".");
	switch (`${segments[0]}.${segments[1]}`) {
		case "user.id":
			return ctx.user?.id;
		case "user.locale":
			return ctx.user?.locale;
		case "event.name":
			return ctx.event?.name;
		case "user.attributes":
			return lookup(ctx.user?.attributes, segments.slice(2));
		case "event.properties":
			return lookup(ctx.event?.properties, segments.slice(2));
		default:
			return segments[0] === "vars" ? lookup(ctx.vars, segments.slice(1)) : undefined;
	}
}

function stringify(v: unknown): string {
	if (v === null || v === undefined) return "";
	if (typeof v === "string") return v;
	if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
	if (typeof v === "object") {
		try {
			return JSON.stringify(v) ?? "";
		} catch {
			return "";
		}
	}
	return "";
}

/** Cuts `s` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncateChars(s: string, max: number): string {
	if (s.length <= max) return s;
	let cut = Math.max(0, max);
	const code = s.charCodeAt(cut - 1);
	if (code >= 0xd800 && code <= 0xdbff) cut--;
	return s.slice(0, cut);
}

/** Bytes `s` adds inside a JSON string literal. */
const jsonBytes = (s: string) => utf8Bytes(JSON.stringify(s)) - 2;

/** The longest prefix of `s` (whole code points) that adds at most `budget` JSON bytes. */
function fitToBudget(s: string, budget: number): string {
	if (budget <= 0) return "";
	if (jsonBytes(s) <= budget) return s;
	let used = 0;
	let end = 0;
	for (const ch of s) {
		const b = jsonBytes(ch);
		if (used + b > budget) break;
		used += b;
		end += ch.length;
	}
	return s.slice(0, end);
}

interface Budget {
	bytes: number;
}

/**
 * Substitutes the expressions of one string. Output stops at `maxChars` (the field's cap), and only
 * the value text that is kept is charged to the content-wide byte budget.
 */
function renderString(s: string, ctx: RenderContext, budget: Budget, maxChars = Number.POSITIVE_INFINITY): string {
	let out = "";
	let last = 0;
	const append = (piece: string, charged: boolean) => {
		const room = maxChars - out.length;
		if (room <= 0) return false;
		let kept = truncateChars(piece, room);
		if (charged) {
			kept = fitToBudget(kept, budget.bytes);
			budget.bytes -= jsonBytes(kept);
		}
		out += kept;
		return kept.length === piece.length;
	};
	for (const m of expressionsIn(s)) {
		if (!append(s.slice(last, m.index), false)) return out;
		last = m.index + m.length;
		if (m.literal !== undefined) {
			if (!append(m.literal, false)) return out;
			continue;
		}
		const e = parseExpression(m.inner);
		let value = stringify(resolve(e.path, ctx));
		if (value === "") value = e.fallback === undefined ? "" : truncateChars(e.fallback, MAX_FALLBACK_CHARS);
		append(truncateChars(value, MAX_VALUE_CHARS), true);
	}
	append(s.slice(last), false);
	return out;
}

/** Field caps (UTF-16 units) of the rendered content, matching `Content`. */
const FIELD_CAPS: Readonly<Record<string, number>> = { title: TITLE_MAX, url: URL_MAX };
const MEDIA_CAPS: Readonly<Record<string, number>> = { url: URL_MAX, thumbnail_url: URL_MAX };
/** Rendered first, so a long body cannot starve the fields that make a push work. */
const PRIORITY = ["type", "title", "url", "media", "body"];

function renderValue(v: unknown, ctx: RenderContext, budget: Budget, depth: number, maxChars?: number): unknown {
	if (typeof v === "string") return renderString(v, ctx, budget, maxChars);
	if (depth > 64 || v === null || typeof v !== "object") return v;
	if (Array.isArray(v)) return v.map((x) => renderValue(x, ctx, budget, depth + 1));
	const out: Record<string, unknown> = {};
	for (const [k, x] of Object.entries(v)) {
		// defineProperty: a "__proto__" key in JSON data stays plain data, never a prototype change.
		Object.defineProperty(out, k, {
			value: renderValue(x, ctx, budget, depth + 1),
			enumerable: true,
			writable: true,
			configurable: true,
		});
	}
	return out;
}

function walkStrings(
	v: unknown,
	path: (string | number)[],
	visit: (s: string, path: (string | number)[]) => void,
	depth = 0,
): void {
	if (typeof v === "string") visit(v, path);
	else if (depth <= 64 && v !== null && typeof v === "object") {
		if (Array.isArray(v)) {
			for (const [i, x] of v.entries()) walkStrings(x, [...path, i], visit, depth + 1);
		} else for (const [k, x] of Object.entries(v)) walkStrings(x, [...path, k], visit, depth + 1);
	}
}

/**
 * Renders the recipient's variant (chosen by `ctx.user.locale`) with every string field substituted,
 * recursively (including `data` and vendor passthroughs). Never throws for a validated template.
 */
export function renderTemplate(template: Pick<TemplateBody, "variants" | "default_locale">, ctx: RenderContext): RenderedContent {
	const { content } = chooseVariant(template, ctx.user?.locale);
	const budget: Budget = { bytes: MAX_TEMPLATE_CONTENT_BYTES - utf8Bytes(JSON.stringify(content)) };
	const source = content as Record<string, unknown>;
	const keys = Object.keys(source);
	const order = [...PRIORITY.filter((k) => keys.includes(k)), ...keys.filter((k) => !PRIORITY.includes(k))];
	const rendered = new Map<string, unknown>();
	for (const k of order) {
		const v = source[k];
		if (k === "media" && v !== null && typeof v === "object" && !Array.isArray(v)) {
			const media: Record<string, unknown> = {};
			for (const [mk, mv] of Object.entries(v)) media[mk] = renderValue(mv, ctx, budget, 1, MEDIA_CAPS[mk]);
			if (media.thumbnail_url === "") delete media.thumbnail_url;
			rendered.set(k, media);
		} else {
			rendered.set(k, renderValue(v, ctx, budget, 0, Object.hasOwn(FIELD_CAPS, k) ? FIELD_CAPS[k] : undefined));
		}
	}
	const out: Record<string, unknown> = {};
	for (const k of keys) {
		if (k === "url" && rendered.get(k) === "") continue;
		Object.defineProperty(out, k, { value: rendered.get(k), enumerable: true, writable: true, configurable: true });
	}
	return out as RenderedContent;
}

/**
 * Every variable path the template uses (well-formed ones, without `|default`), each once, in order
 * of first appearance across variants: e.g. `["user.attributes.first_name", "vars.order_id"]`.
 */
export function extractVariables(template: Pick<TemplateBody, "variants">): string[] {
	const found = new Set<string>();
	walkStrings(template.variants, [], (s) => {
		for (const m of expressionsIn(s)) {
			if (m.literal !== undefined) continue;
			const { path } = parseExpression(m.inner);
			if (variablePathProblem(path) === null) found.add(path);
		}
	});
	return [...found];
}
