import { useState } from "preact/hooks";
import { WEBHOOK_EVENT_TYPES } from "../../../core/webhooks/events.js";
import { api, enc } from "../api.js";
import { formatDate, t } from "../i18n/index.js";
import { navigate } from "../store.js";
import { Action, Card, Dash, ErrorBox, Field, Loading, Page, useAsync } from "../ui/common.js";

interface Endpoint {
	id: string;
	url: string;
	description: string | null;
	events: string[];
	enabled: boolean;
	disabled_reason: string | null;
	updated_at: string;
}

interface Delivery {
	id: string;
	type: string;
	status: "pending" | "succeeded" | "failed";
	attempts: number;
	last_response_status: number | null;
	last_error: string | null;
	created_at: string;
}

/** Webhook endpoints: create (secret shown once), enable/disable, rotate the secret, and each one's delivery log. */
export function WebhooksPage({ rest }: { rest: string[] }) {
	const list = useAsync(() => api<{ webhooks: Endpoint[] }>("GET", "/v1/webhooks"), []);
	const [url, setUrl] = useState("");
	const [description, setDescription] = useState("");
	const [events, setEvents] = useState<string[]>(["message.accepted", "message.completed"]);
	const [secret, setSecret] = useState<string | null>(null);
	const [error, setError] = useState<unknown>(null);
	return (
		<Page title="nav.webhooks">
			<Loading when={list.loading} />
			<ErrorBox error={list.error} />
			{list.data?.webhooks.length === 0 ? <p class="muted">{t("common.empty")}</p> : null}
			{list.data?.webhooks.length ? (
				<div class="table-wrap">
					<table>
						<thead>
							<tr>
								<th scope="col">{t("webhooks.url")}</th>
								<th scope="col">{t("webhooks.events")}</th>
								<th scope="col">{t("common.state")}</th>
								<th scope="col">{t("common.updated")}</th>
							</tr>
						</thead>
						<tbody>
							{list.data.webhooks.map((w) => (
								<tr key={w.id}>
									<td>
										<a
											href={`/console/webhooks/${enc(w.id)}`}
											onClick={(e) => {
												e.preventDefault();
												navigate(`/webhooks/${enc(w.id)}`);
											}}
										>
											<code>{w.url}</code>
										</a>
										{w.description ? <div class="muted">{w.description}</div> : null}
									</td>
									<td>{w.events.join(", ")}</td>
									<td>
										{t(w.enabled ? "common.enabled" : "common.disabled")}
										{w.disabled_reason ? <div class="muted">{w.disabled_reason}</div> : null}
									</td>
									<td>{formatDate(w.updated_at)}</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			) : null}
			{rest[0] ? <EndpointDetail id={rest[0]} onChange={list.reload} onSecret={setSecret} /> : null}
			<Card title="webhooks.create">
				<form
					onSubmit={async (e) => {
						e.preventDefault();
						setError(null);
						try {
							const made = await api<{ secret: string }>("POST", "/v1/webhooks", {
								url: url.trim(),
								events,
								...(description.trim() ? { description: description.trim() } : {}),
							});
							setSecret(made.secret);
							setUrl("");
							setDescription("");
							list.reload();
						} catch (err) {
							setError(err);
						}
					}}
				>
					<Field label="webhooks.url" type="url" value={url} onValue={setUrl} required placeholder="https://" />
					<Field label="webhooks.description" value={description} onValue={setDescription} />
					<fieldset>
						<legend>{t("webhooks.events")}</legend>
						{WEBHOOK_EVENT_TYPES.map((ev) => (
							<label key={ev} class="radio">
								<input
									type="checkbox"
									checked={events.includes(ev)}
									onChange={(e) =>
										setEvents((e.target as HTMLInputElement).checked ? [...events, ev] : events.filter((x) => x !== ev))
									}
								/>
								<code>{ev}</code>
							</label>
						))}
					</fieldset>
					<button type="submit" class="primary" disabled={!events.length}>
						{t("webhooks.createButton")}
					</button>
				</form>
				<ErrorBox error={error} />
			</Card>
			{secret ? (
				<div role="status" class="secret card">
					<p>{t("webhooks.secretOnce")}</p>
					<textarea readOnly rows={2} aria-label={t("webhooks.secret")} value={secret} />
				</div>
			) : null}
		</Page>
	);
}

function EndpointDetail({ id, onChange, onSecret }: { id: string; onChange: () => void; onSecret: (s: string) => void }) {
	const endpoint = useAsync(() => api<Endpoint>("GET", `/v1/webhooks/${enc(id)}`), [id]);
	const deliveries = useAsync(() => api<{ deliveries: Delivery[] }>("GET", `/v1/webhooks/${enc(id)}/deliveries?limit=50`), [id]);
	const w = endpoint.data;
	const changed = () => {
		endpoint.reload();
		onChange();
	};
	return (
		<Card title="webhooks.endpoint">
			<Loading when={endpoint.loading} />
			<ErrorBox error={endpoint.error} />
			{w ? (
				<>
					<p>
						<code>{w.url}</code>
					</p>
					<div class="row">
						<Action
							label={w.enabled ? "webhooks.disable" : "webhooks.enable"}
							kind="secondary"
							run={async () => {
								await api("PATCH", `/v1/webhooks/${enc(id)}`, { enabled: !w.enabled });
								changed();
							}}
						/>
						<Action
							label="webhooks.rotate"
							kind="secondary"
							run={async () => onSecret((await api<{ secret: string }>("POST", `/v1/webhooks/${enc(id)}/secret/rotate`)).secret)}
						/>
						<Action
							label="common.delete"
							kind="danger"
							run={async () => {
								if (!confirm(t("common.deleteConfirm"))) return;
								await api("DELETE", `/v1/webhooks/${enc(id)}`);
								onChange();
								navigate("/webhooks");
							}}
						/>
					</div>
					<h3>{t("webhooks.deliveries")}</h3>
					<ErrorBox error={deliveries.error} />
					{deliveries.data?.deliveries.length ? (
						<div class="table-wrap">
							<table>
								<thead>
									<tr>
										<th scope="col">{t("webhooks.event")}</th>
										<th scope="col">{t("common.state")}</th>
										<th scope="col">{t("webhooks.attempts")}</th>
										<th scope="col">{t("webhooks.lastError")}</th>
										<th scope="col">{t("messages.created")}</th>
										<th scope="col">{t("webhooks.replay")}</th>
									</tr>
								</thead>
								<tbody>
									{deliveries.data.deliveries.map((d) => (
										<tr key={d.id}>
											<td>
												<code>{d.type}</code>
											</td>
											<td>{t(`webhooks.status.${d.status}`)}</td>
											<td>{d.attempts}</td>
											<td>
												<Dash value={d.last_error ?? d.last_response_status} />
											</td>
											<td>{formatDate(d.created_at)}</td>
											<td>
												<Action
													label="webhooks.replay"
													kind="secondary"
													run={async () => {
														await api("POST", `/v1/webhooks/${enc(id)}/deliveries/${enc(d.id)}/replay`);
														deliveries.reload();
													}}
												/>
											</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					) : (
						<p class="muted">{t("webhooks.noDeliveries")}</p>
					)}
				</>
			) : null}
		</Card>
	);
}
