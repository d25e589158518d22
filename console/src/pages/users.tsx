import { useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatDate, formatNumber, t } from "../i18n/index.js";
import { navigate } from "../store.js";
import { Action, Card, Dash, ErrorBox, Field, Json, Loading, Page, useAsync } from "../ui/common.js";
import { channelLabel } from "./overview.js";

interface Device {
	id: string;
	platform: string;
	channel: string;
	status: string;
	last_error?: string | null;
	updated_at?: string;
}
interface User {
	id: string;
	attributes: Record<string, unknown>;
	locale: string | null;
	timezone: string | null;
	tags: string[];
	devices: Device[];
	online?: number;
	created_at?: string;
	updated_at?: string;
}

interface UserRow {
	id: string;
	locale: string | null;
	timezone: string | null;
	updated_at: string;
}

export function UsersPage({ rest }: { rest: string[] }) {
	const [query, setQuery] = useState("");
	const [prefix, setPrefix] = useState("");
	const [cursor, setCursor] = useState<string | undefined>();
	const found = useAsync(() => {
		const q = new URLSearchParams({ limit: "50" });
		if (prefix) q.set("prefix", prefix);
		if (cursor) q.set("cursor", cursor);
		return api<{ users: UserRow[]; next_cursor: string | null }>("GET", `/v1/users?${q}`);
	}, [prefix, cursor]);
	return (
		<Page title="nav.users">
			<form
				class="row"
				onSubmit={(e) => {
					e.preventDefault();
					setCursor(undefined);
					setPrefix(query.trim());
				}}
			>
				<Field label="users.search" value={query} onValue={setQuery} hint="users.searchHint" />
				<button type="submit" class="primary">
					{t("common.search")}
				</button>
			</form>
			{rest[0] ? <UserProfile id={rest[0]} /> : null}
			<Loading when={found.loading} />
			<ErrorBox error={found.error} />
			{found.data?.users.length === 0 ? <p class="muted">{t("users.none")}</p> : null}
			{found.data?.users.length ? (
				<div class="table-wrap">
					<table data-testid="user-list">
						<thead>
							<tr>
								<th scope="col">{t("users.id")}</th>
								<th scope="col">{t("users.locale")}</th>
								<th scope="col">{t("users.timezone")}</th>
								<th scope="col">{t("common.updated")}</th>
							</tr>
						</thead>
						<tbody>
							{found.data.users.map((u) => (
								<tr key={u.id}>
									<td>
										<a
											href={`/console/users/${enc(u.id)}`}
											aria-current={u.id === rest[0] ? "page" : undefined}
											onClick={(e) => {
												e.preventDefault();
												navigate(`/users/${enc(u.id)}`);
											}}
										>
											<code>{u.id}</code>
										</a>
									</td>
									<td>
										<Dash value={u.locale} />
									</td>
									<td>
										<Dash value={u.timezone} />
									</td>
									<td>{formatDate(u.updated_at)}</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			) : null}
			{found.data?.next_cursor ? (
				<button type="button" class="secondary" onClick={() => setCursor(found.data?.next_cursor ?? undefined)}>
					{t("common.next")}
				</button>
			) : null}
		</Page>
	);
}

function UserProfile({ id }: { id: string }) {
	const user = useAsync(() => api<User>("GET", `/v1/users/${enc(id)}`), [id]);
	const [tag, setTag] = useState("");
	const [token, setToken] = useState<{ token: string; expires_at: string } | null>(null);
	const [sent, setSent] = useState<string | null>(null);
	const u = user.data;
	return (
		<>
			<Loading when={user.loading} />
			<ErrorBox error={user.error} />
			{u ? (
				<>
					<Card title="users.profile">
						<dl class="kv">
							<dt>{t("users.id")}</dt>
							<dd>
								<code>{u.id}</code>
							</dd>
							<dt>{t("users.locale")}</dt>
							<dd>
								<Dash value={u.locale} />
							</dd>
							<dt>{t("users.timezone")}</dt>
							<dd>
								<Dash value={u.timezone} />
							</dd>
							<dt>{t("users.online")}</dt>
							<dd>{formatNumber(u.online ?? 0)}</dd>
							<dt>{t("users.created")}</dt>
							<dd>{formatDate(u.created_at)}</dd>
						</dl>
						<h3>{t("users.attributes")}</h3>
						<Json value={u.attributes} />
					</Card>
					<Card title="users.devices">
						{u.devices.length === 0 ? (
							<p class="muted">{t("users.noDevices")}</p>
						) : (
							<div class="table-wrap">
								<table>
									<thead>
										<tr>
											<th scope="col">{t("users.device")}</th>
											<th scope="col">{t("users.platform")}</th>
											<th scope="col">{t("messages.channel")}</th>
											<th scope="col">{t("users.deviceStatus")}</th>
											<th scope="col">{t("users.lastError")}</th>
										</tr>
									</thead>
									<tbody>
										{u.devices.map((d) => (
											<tr key={d.id}>
												<td>
													<code>{d.id}</code>
												</td>
												<td>{d.platform}</td>
												<td>{channelLabel(d.channel)}</td>
												<td>{d.status}</td>
												<td>
													<Dash value={d.last_error} />
												</td>
											</tr>
										))}
									</tbody>
								</table>
							</div>
						)}
					</Card>
					<Card title="users.tags">
						<ul class="chips">
							{u.tags.map((tg) => (
								<li key={tg}>
									{tg}{" "}
									<button
										type="button"
										class="link"
										aria-label={t("users.removeTag", { tag: tg })}
										onClick={async () => {
											await api("PUT", `/v1/users/${enc(id)}/tags`, { remove: [tg] });
											user.reload();
										}}
									>
										×
									</button>
								</li>
							))}
						</ul>
						<form
							class="row"
							onSubmit={async (e) => {
								e.preventDefault();
								if (!tag.trim()) return;
								await api("PUT", `/v1/users/${enc(id)}/tags`, { add: [tag.trim()] });
								setTag("");
								user.reload();
							}}
						>
							<Field label="users.addTag" value={tag} onValue={setTag} />
							<button type="submit" class="secondary">
								{t("common.add")}
							</button>
						</form>
					</Card>
					<Card title="users.actions">
						<div class="row">
							<Action
								label="users.testSend"
								run={async () => {
									const r = await api<{ id: string }>("POST", "/v1/messages", {
										audience: { users: [id] },
										content: { type: "text", title: t("users.testTitle"), body: t("users.testBody") },
									});
									setSent(r.id);
								}}
							/>
							<Action
								label="users.mintToken"
								kind="secondary"
								run={async () => setToken(await api("POST", `/v1/users/${enc(id)}/tokens`, { ttl_seconds: 3600 }))}
							/>
							<Action
								label="compose.toUser"
								kind="secondary"
								run={async () => {
									navigate(`/compose?user=${enc(id)}`);
								}}
							/>
						</div>
						{sent ? <p role="status">{t("compose.sent", { id: sent })}</p> : null}
						{token ? (
							<div role="status">
								<p>{t("users.tokenShown", { at: formatDate(token.expires_at) })}</p>
								<textarea readOnly rows={3} aria-label={t("users.token")} value={token.token} />
							</div>
						) : null}
					</Card>
				</>
			) : null}
		</>
	);
}
