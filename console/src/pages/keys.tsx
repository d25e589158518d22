import { useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatDate, t } from "../i18n/index.js";
import { adminApp, session } from "../store.js";
import { Card, ErrorBox, Field, Loading, Page, useAsync } from "../ui/common.js";

interface Key {
	id: string;
	name: string;
	scopes: string[];
	created_at: string;
	revoked_at: string | null;
}

const SCOPES = ["send", "read", "manage"] as const;

/** The app's keys: an app-key session uses /v1/keys, the admin /v1/apps/{appId}/keys. */
export function KeysPage() {
	const s = session.use();
	const app = adminApp.use();
	const base = s?.kind === "admin" ? (app ? `/v1/apps/${enc(app)}/keys` : null) : "/v1/keys";
	const keys = useAsync(async () => {
		if (!base) return [];
		if (s?.kind === "admin") return (await api<{ keys: Key[] }>("GET", `/v1/apps/${enc(app ?? "")}`)).keys;
		return (await api<{ keys: Key[] }>("GET", "/v1/keys")).keys;
	}, [base]);
	const [name, setName] = useState("");
	const [scopes, setScopes] = useState<string[]>(["send", "read"]);
	const [created, setCreated] = useState<{ id: string; secret: string } | null>(null);
	const [error, setError] = useState<unknown>(null);
	return (
		<Page title="nav.keys">
			{!base ? <p class="muted">{t("apps.pickFirst")}</p> : null}
			<Loading when={keys.loading} />
			<ErrorBox error={keys.error} />
			{keys.data?.length ? (
				<div class="table-wrap">
					<table data-testid="keys">
						<thead>
							<tr>
								<th scope="col">{t("keys.name")}</th>
								<th scope="col">{t("keys.id")}</th>
								<th scope="col">{t("keys.scopes")}</th>
								<th scope="col">{t("keys.created")}</th>
								<th scope="col">{t("keys.state")}</th>
							</tr>
						</thead>
						<tbody>
							{keys.data.map((k) => (
								<tr key={k.id} data-key-id={k.id}>
									<td>{k.name}</td>
									<td>
										<code>{k.id}</code>
									</td>
									<td>{k.scopes.map((sc) => t(`keys.scope.${sc as (typeof SCOPES)[number]}`)).join(", ")}</td>
									<td>{formatDate(k.created_at)}</td>
									<td>
										{k.revoked_at ? (
											t("keys.revokedAt", { at: formatDate(k.revoked_at) })
										) : (
											<button
												type="button"
												class="danger"
												onClick={async () => {
													if (!confirm(t("keys.revokeConfirm", { name: k.name }))) return;
													try {
														await api("DELETE", `${base}/${enc(k.id)}`);
														keys.reload();
													} catch (e) {
														setError(e);
													}
												}}
											>
												{t("keys.revoke")}
											</button>
										)}
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			) : null}
			{base ? (
				<Card title="keys.create">
					<form
						onSubmit={async (e) => {
							e.preventDefault();
							setError(null);
							try {
								const k = await api<{ id: string; secret: string }>("POST", base, { name: name.trim(), scopes });
								setCreated(k);
								setName("");
								keys.reload();
							} catch (err) {
								setError(err);
							}
						}}
					>
						<Field label="keys.name" value={name} onValue={setName} required maxLength={200} />
						<fieldset>
							<legend>{t("keys.scopes")}</legend>
							{SCOPES.map((sc) => (
								<label key={sc} class="radio">
									<input
										type="checkbox"
										checked={scopes.includes(sc)}
										onChange={(e) =>
											setScopes((e.target as HTMLInputElement).checked ? [...scopes, sc] : scopes.filter((x) => x !== sc))
										}
									/>
									{t(`keys.scope.${sc}`)}
								</label>
							))}
						</fieldset>
						<button type="submit" class="primary" disabled={!scopes.length}>
							{t("keys.createButton")}
						</button>
					</form>
					<ErrorBox error={error} />
					{created ? (
						<div role="status" class="secret">
							<p>{t("keys.secretOnce")}</p>
							<textarea readOnly rows={2} aria-label={t("keys.secret")} data-testid="new-secret" value={created.secret} />
						</div>
					) : null}
				</Card>
			) : null}
		</Page>
	);
}
