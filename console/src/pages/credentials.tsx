import { useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatDate, type MessageKey, t } from "../i18n/index.js";
import { Action, Card, Dash, ErrorBox, Field, Loading, Page, Select, useAsync } from "../ui/common.js";
import { channelLabel } from "./overview.js";

interface CredentialView {
	channel: string;
	configured_at: string;
	status: string;
	masked: Record<string, string>;
	token?: { last_refresh_at: string | null; expires_at: string | null; last_error: string | null };
}

type FieldSpec = { name: string; label: MessageKey; secret?: boolean; file?: "p8" | "json" };
const FORMS: Record<string, FieldSpec[]> = {
	apns: [
		{ name: "team_id", label: "cred.teamId" },
		{ name: "key_id", label: "cred.keyId" },
		{ name: "bundle_id", label: "cred.bundleId" },
		{ name: "private_key", label: "cred.p8", secret: true, file: "p8" },
	],
	fcm: [{ name: "service_account", label: "cred.serviceAccount", secret: true, file: "json" }],
	hms: [
		{ name: "app_id", label: "cred.appId" },
		{ name: "client_id", label: "cred.clientId" },
		{ name: "client_secret", label: "cred.clientSecret", secret: true },
	],
	xiaomi: [
		{ name: "package_name", label: "cred.packageName" },
		{ name: "app_secret", label: "cred.appSecret", secret: true },
	],
	oppo: [
		{ name: "app_key", label: "cred.appKey" },
		{ name: "master_secret", label: "cred.masterSecret", secret: true },
	],
	vivo: [
		{ name: "app_id", label: "cred.appId" },
		{ name: "app_key", label: "cred.appKey" },
		{ name: "app_secret", label: "cred.appSecret", secret: true },
	],
	honor: [
		{ name: "app_id", label: "cred.appId" },
		{ name: "client_id", label: "cred.clientId" },
		{ name: "client_secret", label: "cred.clientSecret", secret: true },
	],
	meizu: [
		{ name: "app_id", label: "cred.appId" },
		{ name: "app_secret", label: "cred.appSecret", secret: true },
	],
	webpush: [
		{ name: "subject", label: "cred.subject" },
		{ name: "public_key", label: "cred.publicKey" },
		{ name: "private_key", label: "cred.vapidPrivate", secret: true },
	],
};

export function CredentialsPage() {
	const list = useAsync(() => api<{ credentials: CredentialView[] }>("GET", "/v1/credentials"), []);
	const byChannel = new Map((list.data?.credentials ?? []).map((c) => [c.channel, c]));
	return (
		<Page title="nav.credentials">
			<Loading when={list.loading} />
			<ErrorBox error={list.error} />
			<div class="grid">
				{Object.keys(FORMS).map((ch) => (
					<VendorForm key={ch} channel={ch} view={byChannel.get(ch)} onSaved={list.reload} />
				))}
			</div>
			<TestPush />
		</Page>
	);
}

function VendorForm({ channel, view, onSaved }: { channel: string; view?: CredentialView; onSaved: () => void }) {
	const [values, setValues] = useState<Record<string, string>>({});
	const [env, setEnv] = useState<"production" | "sandbox">("production");
	const [error, setError] = useState<unknown>(null);
	const [saved, setSaved] = useState(false);
	const fields = FORMS[channel] ?? [];
	return (
		<section class="card" aria-labelledby={`cred-${channel}`} data-channel={channel}>
			<h2 id={`cred-${channel}`}>{channelLabel(channel)}</h2>
			<dl class="kv">
				<dt>{t("cred.status")}</dt>
				<dd data-testid={`cred-status-${channel}`}>
					{view ? t(view.status === "active" ? "cred.active" : "cred.error") : t("cred.notConfigured")}
				</dd>
				{view ? (
					<>
						<dt>{t("cred.configured")}</dt>
						<dd>{formatDate(view.configured_at)}</dd>
						<dt>{t("cred.tokenRefreshed")}</dt>
						<dd>{formatDate(view.token?.last_refresh_at)}</dd>
						<dt>{t("cred.lastError")}</dt>
						<dd>
							<Dash value={view.token?.last_error} />
						</dd>
						{Object.entries(view.masked).map(([k, v]) => (
							<>
								<dt>
									<code>{k}</code>
								</dt>
								<dd>
									<code>{v}</code>
								</dd>
							</>
						))}
					</>
				) : null}
			</dl>
			<form
				onSubmit={async (e) => {
					e.preventDefault();
					setError(null);
					setSaved(false);
					try {
						const body: Record<string, unknown> = {};
						for (const f of fields) {
							const v = values[f.name]?.trim();
							if (!v) continue;
							body[f.name] = f.file === "json" ? JSON.parse(v) : v;
						}
						if (channel === "apns") body.environment = env;
						await api("PUT", `/v1/credentials/${channel}`, body);
						setValues({});
						setSaved(true);
						onSaved();
					} catch (err) {
						setError(err);
					}
				}}
			>
				{fields.map((f) =>
					f.file ? (
						<FileField key={f.name} spec={f} onText={(v) => setValues((p) => ({ ...p, [f.name]: v }))} />
					) : (
						<Field
							key={f.name}
							label={f.label}
							type={f.secret ? "password" : "text"}
							autocomplete="off"
							value={values[f.name] ?? ""}
							onValue={(v) => setValues((p) => ({ ...p, [f.name]: v }))}
						/>
					),
				)}
				{channel === "apns" ? (
					<Select
						label="cred.environment"
						value={env}
						onValue={setEnv}
						options={[
							{ value: "production", label: t("cred.production") },
							{ value: "sandbox", label: t("cred.sandbox") },
						]}
					/>
				) : null}
				{channel === "webpush" ? <small class="muted">{t("cred.webpushHint")}</small> : null}
				<div class="row">
					<button type="submit" class="primary">
						{t("common.save")}
					</button>
					{view ? (
						<Action
							label="common.delete"
							kind="danger"
							run={async () => {
								if (!confirm(t("cred.deleteConfirm"))) return;
								await api("DELETE", `/v1/credentials/${channel}`);
								onSaved();
							}}
						/>
					) : null}
				</div>
				{saved ? <p role="status">{t("common.saved")}</p> : null}
				<ErrorBox error={error} />
			</form>
		</section>
	);
}

/** A file input read as text in the browser; the contents go to the Worker in the PUT, nowhere else. */
function FileField({ spec, onText }: { spec: FieldSpec; onText: (text: string) => void }) {
	const [name, setName] = useState("");
	const id = `file-${spec.name}-${spec.file}`;
	return (
		<div class="field">
			<label for={id}>{t(spec.label)}</label>
			<input
				id={id}
				type="file"
				accept={spec.file === "p8" ? ".p8,.pem,text/plain" : ".json,application/json"}
				onChange={async (e) => {
					const file = (e.target as HTMLInputElement).files?.[0];
					if (!file) return;
					setName(file.name);
					onText(await file.text());
				}}
			/>
			{name ? <small class="muted">{t("cred.fileChosen", { name })}</small> : null}
		</div>
	);
}

function TestPush() {
	const [user, setUser] = useState("");
	const [result, setResult] = useState<string | null>(null);
	return (
		<Card title="cred.testPush">
			<p class="muted">{t("cred.testPushHint")}</p>
			<div class="row">
				<Field label="messages.user" value={user} onValue={setUser} />
				<Action
					label="cred.sendTest"
					disabled={!user.trim()}
					run={async () => {
						const r = await api<{ id: string }>("POST", "/v1/messages", {
							audience: { users: [user.trim()] },
							content: { type: "text", title: t("users.testTitle"), body: t("users.testBody") },
							options: { channels: "vendor" },
						});
						setResult(r.id);
					}}
				/>
			</div>
			{result ? (
				<p role="status">
					{t("compose.sent", { id: result })} <a href={`/console/messages/${enc(result)}`}>{t("common.open")}</a>
				</p>
			) : null}
		</Card>
	);
}
