import { useState } from "preact/hooks";
import { api } from "../api.js";
import { formatDate, t } from "../i18n/index.js";
import { adminApp, navigate } from "../store.js";
import { Card, ErrorBox, Field, Loading, Page, useAsync } from "../ui/common.js";

interface AppRow {
	id: string;
	name: string;
	plan: string;
	created_at: string;
}

/** Admin only: every app, a new app, and choosing the app the other pages work on. */
export function AppsPage() {
	const apps = useAsync(() => api<{ apps: AppRow[] }>("GET", "/v1/apps"), []);
	const current = adminApp.use();
	const [name, setName] = useState("");
	const [created, setCreated] = useState<{ id: string; key: { secret: string } } | null>(null);
	const [error, setError] = useState<unknown>(null);
	return (
		<Page title="nav.apps">
			<Loading when={apps.loading} />
			<ErrorBox error={apps.error} />
			{apps.data ? (
				<div class="table-wrap">
					<table>
						<thead>
							<tr>
								<th scope="col">{t("apps.name")}</th>
								<th scope="col">{t("apps.id")}</th>
								<th scope="col">{t("apps.plan")}</th>
								<th scope="col">{t("apps.created")}</th>
								<th scope="col">{t("apps.workOn")}</th>
							</tr>
						</thead>
						<tbody>
							{apps.data.apps.map((a) => (
								<tr key={a.id}>
									<td>{a.name}</td>
									<td>
										<code>{a.id}</code>
									</td>
									<td>{a.plan}</td>
									<td>{formatDate(a.created_at)}</td>
									<td>
										<button
											type="button"
											class={current === a.id ? "primary" : "secondary"}
											aria-pressed={current === a.id}
											onClick={() => {
												adminApp.set(a.id);
												navigate("/overview");
											}}
										>
											{t("apps.open")}
										</button>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			) : null}
			<Card title="apps.create">
				<form
					class="row"
					onSubmit={async (e) => {
						e.preventDefault();
						setError(null);
						try {
							setCreated(await api("POST", "/v1/apps", { name: name.trim() }));
							setName("");
							apps.reload();
						} catch (err) {
							setError(err);
						}
					}}
				>
					<Field label="apps.name" value={name} onValue={setName} required maxLength={200} />
					<button type="submit" class="primary">
						{t("apps.createButton")}
					</button>
				</form>
				<ErrorBox error={error} />
				{created ? (
					<div role="status" class="secret">
						<p>{t("keys.secretOnce")}</p>
						<textarea readOnly rows={2} aria-label={t("keys.secret")} value={created.key.secret} />
					</div>
				) : null}
			</Card>
		</Page>
	);
}
