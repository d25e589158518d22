/**
 * Scheduling, templates: validation naming the field, locale choice (exact → language → same
 * language → default → first), substitution in every string field, missing variables (empty or
 * `|default`, never braces, never a throw), no prototype access, size caps, extractVariables.
 */
import { describe, expect, it } from "vitest";
import {
	chooseVariant,
	extractVariables,
	MAX_TEMPLATE_CONTENT_BYTES,
	MAX_VALUE_CHARS,
	type RenderContext,
	renderTemplate,
	TemplateBody,
	TemplateVariables,
	truncateChars,
} from "../../core/rules/templates.js";
import { Content } from "../../workers/schemas/messages.js";

const template = TemplateBody.parse({
	name: "order-shipped",
	default_locale: "en",
	variants: {
		fr: { type: "text", title: "Bonjour {{user.attributes.first_name|vous}}", body: "fr" },
		en: {
			type: "text",
			title: "Hi {{user.attributes.first_name|there}}",
			body: "Order {{event.properties.order_id}} for {{user.id}} in {{user.attributes.address.city}} ({{vars.note}})",
			url: "https://shop.example/orders/{{vars.order}}",
			data: { order: "{{vars.order}}", nested: ["{{user.locale}}", { deep: "{{event.name}}" }], n: 5, flag: true },
		},
		zh: { type: "text", title: "{{user.attributes.first_name|您好}}", body: "zh" },
		"zh-TW": { type: "text", title: "繁體", body: "zh-TW" },
		"pt-BR": { type: "text", title: "Olá", body: "pt-BR" },
	},
});

const ctx = (over: Partial<RenderContext["user"]> = {}, rest: Partial<RenderContext> = {}): RenderContext => ({
	user: { id: "u1", locale: "en-US", attributes: { first_name: "Ada", address: { city: "London" } }, ...over },
	event: { name: "order_shipped", properties: { order_id: 42 } },
	vars: { order: "o-9", note: "gift" },
	...rest,
});

/** Every string value in a rendered content, recursively. */
function strings(v: unknown): string[] {
	if (typeof v === "string") return [v];
	if (v && typeof v === "object") return Object.values(v).flatMap(strings);
	return [];
}

describe("TemplateBody", () => {
	it("refuses unknown variables, bad paths and prototype segments, naming the field", () => {
		const bad = TemplateBody.safeParse({
			name: "t",
			variants: {
				en: {
					type: "text",
					title: "{{user.password}}",
					body: "{{ user.attributes.__proto__.x }}",
					data: { a: { b: "{{vars}}" } },
					url: "{{vars.a b}}",
				},
			},
		});
		expect(bad.success).toBe(false);
		const paths = bad.error!.issues.map((i) => i.path.join("."));
		expect(paths).toEqual(
			expect.arrayContaining(["variants.en.title", "variants.en.body", "variants.en.data.a.b", "variants.en.url"]),
		);
		expect(bad.error!.issues.find((i) => i.path.join(".") === "variants.en.title")!.message).toMatch(/unknown variable/);
		expect(bad.error!.issues.find((i) => i.path.join(".") === "variants.en.body")!.message).toMatch(/__proto__/);
	});

	it("refuses a default_locale without a variant, duplicate locales, bad tags, no variants, bad content", () => {
		const err = (t: unknown) => TemplateBody.safeParse(t).error?.issues.map((i) => i.path.join(".")) ?? [];
		const v = { type: "text", body: "x" };
		expect(err({ name: "t", default_locale: "de", variants: { en: v } })).toEqual(["default_locale"]);
		expect(err({ name: "t", variants: { "en-US": v, en_us: v } })).toEqual(["variants.en_us"]);
		expect(err({ name: "t", variants: { "not a locale": v } })).toEqual(["variants.not a locale"]);
		expect(err({ name: "t", variants: {} })).toEqual(["variants"]);
		expect(err({ name: "t", variants: { en: { type: "text" } } })).toEqual(["variants.en.body"]);
		expect(err({ name: "t", variants: { en: { type: "image", body: "x" } } })).toEqual(["variants.en.media"]);
		expect(err({ name: "t", variants: { en: { type: "text", body: "x".repeat(MAX_TEMPLATE_CONTENT_BYTES) } } })).toContain(
			"variants.en",
		);
		expect(TemplateBody.safeParse({ name: "t", variants: { en: v }, extra: 1 }).success).toBe(false);
	});

	it("TemplateVariables: named like path segments, bounded", () => {
		expect(TemplateVariables.safeParse({ order: "o-1", n: 2, obj: { a: [1] } }).success).toBe(true);
		expect(TemplateVariables.safeParse({ "a.b": 1 }).success).toBe(false);
		expect(TemplateVariables.safeParse({ big: "x".repeat(17 * 1024) }).success).toBe(false);
	});
});

describe("chooseVariant", () => {
	const pick = (locale: string | null | undefined) => chooseVariant(template, locale).locale;
	it("exact (case- and separator-insensitive), then language, then same language, then default, then first", () => {
		expect(pick("zh-TW")).toBe("zh-TW");
		expect(pick("zh_tw")).toBe("zh-TW");
		expect(pick("zh-CN")).toBe("zh"); // language
		expect(pick("pt-PT")).toBe("pt-BR"); // another region of the same language
		expect(pick("pt")).toBe("pt-BR");
		expect(pick("de-DE")).toBe("en"); // default_locale
		expect(pick(null)).toBe("en");
		expect(pick(undefined)).toBe("en");
		const noDefault = { variants: template.variants };
		expect(chooseVariant(noDefault, "ja").locale).toBe("fr"); // first
	});
});

describe("renderTemplate", () => {
	it("substitutes every string field recursively, keeping non-strings", () => {
		const out = renderTemplate(template, ctx());
		expect(out).toEqual({
			type: "text",
			title: "Hi Ada",
			body: "Order 42 for u1 in London (gift)",
			url: "https://shop.example/orders/o-9",
			data: { order: "o-9", nested: ["en-US", { deep: "order_shipped" }], n: 5, flag: true },
		});
		expect(Content.safeParse(out).success).toBe(true);
	});

	it("finds {{…}} in linear time: long runs of unclosed braces validate and render at once", () => {
		// With /\{\{([\s\S]*?)\}\}/g each of these took tens of seconds (every "{{" rescans the rest).
		const braces = "{".repeat(60_000);
		expect(TemplateBody.safeParse({ name: "b", variants: { en: { type: "text", body: braces } } }).success).toBe(true);
		const rendered = renderTemplate(
			{
				name: "b",
				variants: { en: { type: "text", body: `${braces} and {{user.id}}`, title: "{{{{user.id}}}}" } },
			} as TemplateBody,
			ctx(),
		);
		// The same matches as the regex: "{{" and the first "}}" after it, here one unknown variable.
		expect(rendered.body).toBe("");
		expect(rendered.title).toBe("}}");
		expect(
			renderTemplate({ name: "b", variants: { en: { type: "text", body: `{{user.id}}${braces}` } } } as TemplateBody, ctx()).body,
		).toBe(`u1${braces}`);
		expect(extractVariables({ variants: { en: { type: "text", body: `a {{user.id}} ${braces} {{vars.x}}` } } })).toEqual([
			"user.id",
		]);
	});

	it("renders the recipient's locale variant", () => {
		expect(renderTemplate(template, ctx({ locale: "zh-CN" })).title).toBe("Ada");
		expect(renderTemplate(template, ctx({ locale: "zh-CN", attributes: {} })).title).toBe("您好");
		expect(renderTemplate(template, ctx({ locale: "fr-CA", attributes: null })).title).toBe("Bonjour vous");
	});

	it("missing variables: empty string, or the |default; no braces left; never throws", () => {
		const out = renderTemplate(template, { user: { id: "u2" } });
		expect(out.title).toBe("Hi there");
		expect(out.body).toBe("Order  for u2 in  ()");
		expect(out.url).toBe("https://shop.example/orders/");
		expect(out.data).toEqual({ order: "", nested: ["", { deep: "" }], n: 5, flag: true });
		expect(strings(out).join("|")).not.toMatch(/\{\{|\}\}/);
		// null and "" count as missing; 0 and false do not.
		const t = TemplateBody.parse({
			name: "t",
			variants: { en: { type: "text", body: "[{{vars.a|A}}][{{vars.b|B}}][{{vars.c|C}}][{{vars.d|D}}][{{vars.e}}]" } },
		});
		expect(renderTemplate(t, { user: { id: "u" }, vars: { a: null, b: "", c: 0, d: false, e: { x: [1, "y"] } } }).body).toBe(
			'[A][B][0][false][{"x":[1,"y"]}]',
		);
	});

	it("renders unvalidated junk expressions as missing instead of leaving braces", () => {
		const raw = {
			variants: {
				en: { type: "text" as const, body: "a{{}}b{{ nope }}c{{user.password|pw}}d{{ {{vars.x}} }}e{{vars.x" },
			},
		};
		const out = renderTemplate(raw, { user: { id: "u" }, vars: { x: "X" } });
		expect(out.body).toBe("abcpwd }}e{{vars.x");
		expect(out.body as string).not.toMatch(/\{\{[^{}]*\}\}/);
	});

	it("inserts values verbatim and never re-evaluates them", () => {
		const t = TemplateBody.parse({ name: "t", variants: { en: { type: "text", body: "Hi {{user.attributes.name}}" } } });
		const out = renderTemplate(t, {
			user: { id: "u", attributes: { name: '<b>{{vars.secret}}</b> & "x"' } },
			vars: { secret: "S" },
		});
		expect(out.body).toBe('Hi <b>{{vars.secret}}</b> & "x"');
	});

	it("cannot reach prototypes or inherited properties", () => {
		const raw = {
			variants: {
				en: {
					type: "text" as const,
					body: "[{{user.attributes.__proto__}}][{{user.attributes.constructor.name}}][{{vars.toString}}][{{user.attributes.a.prototype}}][{{vars.hasOwnProperty|none}}]",
				},
			},
		};
		const attributes = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": {}}') as Record<string, unknown>;
		const out = renderTemplate(raw, { user: { id: "u", attributes }, vars: {} });
		expect(out.body).toBe("[][][][][none]");
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		// Own data keys named __proto__ stay data in the rendered output.
		const withData = { variants: { en: { type: "custom" as const, data: JSON.parse('{"__proto__": {"x": "{{vars.v}}"}}') } } };
		const rendered = renderTemplate(withData, { user: { id: "u" }, vars: { v: "1" } });
		expect(Object.getPrototypeOf(rendered.data)).toBe(Object.prototype);
		expect(Object.hasOwn(rendered.data as object, "__proto__")).toBe(true);
		expect(JSON.stringify(rendered.data)).toBe('{"__proto__":{"x":"1"}}');
	});

	it("caps sizes: one value, the title, and the whole content at 64 KiB", () => {
		const t = TemplateBody.parse({
			name: "t",
			variants: {
				en: {
					type: "text",
					title: "{{vars.long}}{{vars.long}}",
					body: Array.from({ length: 60 }, () => "{{vars.long}}").join(""),
					url: "https://x.example/{{vars.long}}",
				},
			},
		});
		const out = renderTemplate(t, { user: { id: "u" }, vars: { long: "é".repeat(10_000) } });
		expect((out.title as string).length).toBe(1024);
		expect((out.url as string).length).toBe(2048);
		expect((out.body as string).length).toBeGreaterThan(MAX_VALUE_CHARS);
		expect((out.body as string).length).toBeLessThan(60 * MAX_VALUE_CHARS);
		const bytes = new TextEncoder().encode(JSON.stringify(out)).byteLength;
		expect(bytes).toBeLessThanOrEqual(MAX_TEMPLATE_CONTENT_BYTES);
		expect(bytes).toBeGreaterThan(MAX_TEMPLATE_CONTENT_BYTES - 1024); // filled, not emptied
		expect(Content.safeParse(out).success).toBe(true);
	});

	it("caps one substituted value at MAX_VALUE_CHARS", () => {
		const t = TemplateBody.parse({ name: "t", variants: { en: { type: "text", body: "<{{vars.long}}>" } } });
		const body = renderTemplate(t, { user: { id: "u" }, vars: { long: "x".repeat(10_000) } }).body as string;
		expect(body).toBe(`<${"x".repeat(MAX_VALUE_CHARS)}>`);
	});

	it("truncation never splits a surrogate pair", () => {
		expect(truncateChars("ab😀", 3)).toBe("ab");
		expect(truncateChars("ab😀", 4)).toBe("ab😀");
		const t = TemplateBody.parse({ name: "t", variants: { en: { type: "text", title: "{{vars.e}}" } } });
		const title = renderTemplate(t, { user: { id: "u" }, vars: { e: "😀".repeat(600) } }).title as string;
		expect(title.length).toBe(1024);
		expect(title.endsWith("😀")).toBe(true);
	});

	it("drops a url that renders empty", () => {
		const t = TemplateBody.parse({ name: "t", variants: { en: { type: "text", body: "b", url: "{{vars.link}}" } } });
		expect(renderTemplate(t, { user: { id: "u" } })).toEqual({ type: "text", body: "b" });
		expect(renderTemplate(t, { user: { id: "u" }, vars: { link: "https://a.example" } }).url).toBe("https://a.example");
	});
});

describe("extractVariables", () => {
	it("lists each well-formed path once, in order of first appearance, without defaults", () => {
		expect(extractVariables(template)).toEqual([
			"user.attributes.first_name",
			"event.properties.order_id",
			"user.id",
			"user.attributes.address.city",
			"vars.note",
			"vars.order",
			"user.locale",
			"event.name",
		]);
		expect(extractVariables({ variants: { en: { type: "text", body: "{{ nope }} {{vars.a|x}} {{vars.a}}" } } })).toEqual([
			"vars.a",
		]);
	});
});
