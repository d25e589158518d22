import { LOCALES, type Locale, locale, setLocale, t } from "../i18n/index.js";
import { useLocale } from "../store.js";

export function LanguageSwitch() {
	useLocale();
	return (
		<label class="lang">
			<span class="visually-hidden">{t("common.language")}</span>
			<select
				aria-label={t("common.language")}
				value={locale()}
				onChange={(e) => setLocale((e.target as HTMLSelectElement).value as Locale)}
			>
				{LOCALES.map((l) => (
					<option key={l.id} value={l.id} lang={l.id}>
						{l.name}
					</option>
				))}
			</select>
		</label>
	);
}
