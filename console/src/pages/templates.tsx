import { useState } from "preact/hooks";
import { t } from "../i18n/index.js";
import { Page, Select } from "../ui/common.js";
import { CollectionEditor } from "../ui/json-editor.js";

const EXAMPLE = {
	name: "order-shipped",
	default_locale: "en",
	variants: {
		en: {
			type: "text",
			title: "Your order shipped",
			body: "Hi {{user.attributes.name|there}}, order {{vars.order}} is on its way.",
		},
		"zh-CN": { type: "text", title: "订单已发货", body: "{{user.attributes.name|您好}}，订单 {{vars.order}} 已发出。" },
	},
};

export function TemplatesPage({ rest }: { rest: string[] }) {
	return (
		<Page title="nav.templates">
			<CollectionEditor
				collection="templates"
				page="templates"
				id={rest[0]}
				example={EXAMPLE}
				preview={(v) => <TemplatePreview value={v} />}
			/>
		</Page>
	);
}

/** A template string with each {{…}} shown as its fallback, or as ‹path› when it has none. */
export const renderSample = (s?: string) =>
	(s ?? "").replace(/\{\{\s*([^}|]+?)\s*(?:\|([^}]*))?\}\}/g, (_m, path: string, fb?: string) => fb ?? `‹${path}›`);

/** The chosen locale's variant with sample values in place of {{…}}: what a recipient would read. */
export function TemplatePreview({ value }: { value: unknown }) {
	const variants = (value as { variants?: Record<string, { title?: string; body?: string }> })?.variants ?? {};
	const locales = Object.keys(variants);
	const [loc, setLoc] = useState(locales[0] ?? "");
	const v = variants[loc] ?? variants[locales[0] ?? ""];
	const render = renderSample;
	if (!locales.length) return null;
	return (
		<section class="preview-box" aria-label={t("compose.preview")}>
			<h3>{t("compose.preview")}</h3>
			<Select label="templates.locale" value={loc} onValue={setLoc} options={locales.map((l) => ({ value: l, label: l }))} />
			<div class="notification ios">
				<strong>{render(v?.title)}</strong>
				<p>{render(v?.body)}</p>
			</div>
		</section>
	);
}
