import { useId, useState } from "preact/hooks";
import { api, type Session } from "../api.js";
import { t } from "../i18n/index.js";
import { useLocale } from "../store.js";
import { errorText } from "../ui/common.js";
import { LanguageSwitch } from "../ui/lang.js";

/** Signs in with the admin token or an app key; the key goes to the Worker once and is never stored here. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
	useLocale();
	const [token, setToken] = useState("");
	const [error, setError] = useState<unknown>(null);
	const [busy, setBusy] = useState(false);
	const id = useId();
	return (
		<main class="sign-in" id="main">
			<div class="sign-in-top">
				<strong class="brand">{t("app.title")}</strong>
				<LanguageSwitch />
			</div>
			<h1>{t("signIn.title")}</h1>
			<p class="muted">{t("signIn.intro")}</p>
			<form
				onSubmit={async (e) => {
					e.preventDefault();
					setBusy(true);
					setError(null);
					try {
						const s = await api<Session>("POST", "/v1/console/session", { token: token.trim() });
						setToken("");
						onSignedIn(s);
					} catch (err) {
						setError(err);
					} finally {
						setBusy(false);
					}
				}}
			>
				<div class="field">
					<label for={id}>{t("signIn.token")}</label>
					<input
						id={id}
						type="password"
						autocomplete="off"
						spellcheck={false}
						required
						value={token}
						onInput={(e) => setToken((e.target as HTMLInputElement).value)}
					/>
					<small class="muted">{t("signIn.hint")}</small>
				</div>
				<button type="submit" class="primary" disabled={busy}>
					{t("signIn.submit")}
				</button>
				{error ? (
					<p class="error" role="alert">
						{errorText(error)}
					</p>
				) : null}
			</form>
		</main>
	);
}
