import { useEffect, useRef, useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatNumber, type MessageKey, t } from "../i18n/index.js";
import { navigate } from "../store.js";
import { Card, errorText, Field, Page, parseJsonField, Select, TextArea } from "../ui/common.js";
import { TemplatePreview } from "./templates.js";

type AudienceMode = "users" | "tags" | "all" | "filter";
type ContentType = "text" | "image" | "video" | "audio" | "file" | "custom";
type WhenMode = "now" | "at" | "cron" | "local_time" | "optimal";
const VENDORS = ["apns", "fcm", "hms", "xiaomi", "webpush"] as const;

const list = (s: string) =>
	s
		.split(/[\s,]+/)
		.map((x) => x.trim())
		.filter(Boolean);

export interface ComposeState {
	mode: AudienceMode;
	users: string;
	any: string;
	all: string;
	none: string;
	filter: string;
	type: ContentType;
	title: string;
	body: string;
	mediaUrl: string;
	url: string;
	data: string;
	vendor: Record<(typeof VENDORS)[number], string>;
	templateId: string;
	variables: string;
	ttl: string;
	priority: "" | "high" | "normal";
	collapseKey: string;
	channels: "" | "auto" | "ws" | "vendor" | "all";
	category: string;
	when: WhenMode;
	at: string;
	cron: string;
	zone: string;
	localTime: string;
	withinHours: string;
	fallback: string;
}

const initial = (): ComposeState => ({
	mode: "users",
	users: new URLSearchParams(location.search).get("user") ?? "",
	any: "",
	all: "",
	none: "",
	filter: "",
	type: "text",
	title: "",
	body: "",
	mediaUrl: "",
	url: "",
	data: "",
	vendor: { apns: "", fcm: "", hms: "", xiaomi: "", webpush: "" },
	templateId: "",
	variables: "",
	ttl: "",
	priority: "",
	collapseKey: "",
	channels: "",
	category: "",
	when: "now",
	at: "",
	cron: "0 9 * * 1-5",
	zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
	localTime: "",
	withinHours: "24",
	fallback: "09:00",
});

/** The audience as the API takes it, or undefined while the form does not name one yet. */
function audienceOf(s: ComposeState): Record<string, unknown> | undefined {
	const filter = s.filter.trim() ? (parseJsonField(s.filter, "compose.filter") as Record<string, unknown>) : undefined;
	if (s.mode === "users") {
		const users = list(s.users);
		return users.length ? { users } : undefined;
	}
	if (s.mode === "tags") {
		const tags: Record<string, string[]> = {};
		for (const k of ["any", "all", "none"] as const) if (list(s[k]).length) tags[k] = list(s[k]);
		return Object.keys(tags).length ? { tags, ...(filter ? { filter } : {}) } : undefined;
	}
	if (s.mode === "all") return { all: true, ...(filter ? { filter } : {}) };
	return filter ? { filter } : undefined;
}

/** The POST /v1/messages body the form describes; throws a readable error when a field is not valid. */
export function messageOf(s: ComposeState): Record<string, unknown> {
	const audience = audienceOf(s);
	if (!audience) throw new Error(t("compose.needAudience"));
	const body: Record<string, unknown> = { audience };
	if (s.templateId.trim()) {
		body.template_id = s.templateId.trim();
		const vars = parseJsonField(s.variables, "compose.variables");
		if (vars !== undefined) body.variables = vars;
	} else {
		const content: Record<string, unknown> = { type: s.type };
		if (s.title) content.title = s.title;
		if (s.body) content.body = s.body;
		if (s.mediaUrl && s.type !== "text" && s.type !== "custom") content.media = { url: s.mediaUrl };
		if (s.url) content.url = s.url;
		const data = parseJsonField(s.data, "compose.data");
		if (data !== undefined) content.data = data;
		for (const v of VENDORS) {
			const o = parseJsonField(s.vendor[v], `compose.vendor.${v}` as MessageKey);
			if (o !== undefined) content[v] = o;
		}
		body.content = content;
	}
	const options: Record<string, unknown> = {};
	if (s.ttl) options.ttl_seconds = Number(s.ttl);
	if (s.priority) options.priority = s.priority;
	if (s.collapseKey) options.collapse_key = s.collapseKey;
	if (s.channels) options.channels = s.channels;
	if (s.category) options.category = s.category;
	if (Object.keys(options).length) body.options = options;
	return body;
}

function whenOf(s: ComposeState): Record<string, unknown> | undefined {
	switch (s.when) {
		case "now":
			return undefined;
		case "at":
			return { at: new Date(s.at).toISOString() };
		case "cron":
			return { cron: s.cron, timezone: s.zone };
		case "local_time":
			return { local_time: s.localTime.length === 16 ? `${s.localTime}:00` : s.localTime };
		case "optimal":
			return { optimal: { within_hours: Number(s.withinHours), fallback_local_time: s.fallback } };
	}
}

/** The named template's variants (each recipient gets the one of their language), fetched as the id is typed. */
function ComposeTemplatePreview({ id }: { id: string }) {
	const [template, setTemplate] = useState<unknown>(null);
	const [missing, setMissing] = useState(false);
	useEffect(() => {
		if (!/^[A-Za-z0-9_]{1,64}$/.test(id)) return;
		const timer = setTimeout(() => {
			api("GET", `/v1/templates/${enc(id)}`).then(
				(v) => {
					setTemplate(v);
					setMissing(false);
				},
				() => {
					setTemplate(null);
					setMissing(true);
				},
			);
		}, 400);
		return () => clearTimeout(timer);
	}, [id]);
	if (missing) return <p class="muted">{t("compose.templateMissing")}</p>;
	return template ? <TemplatePreview value={template} /> : null;
}

export function ComposePage() {
	const [s, setS] = useState<ComposeState>(initial);
	const set =
		<K extends keyof ComposeState>(k: K) =>
		(v: ComposeState[K]) =>
			setS((prev) => ({ ...prev, [k]: v }));
	const [estimate, setEstimate] = useState<{ users: number; capped: boolean } | null>(null);
	const [estimateError, setEstimateError] = useState<string | null>(null);
	const [result, setResult] = useState<{ kind: "message" | "schedule"; id: string } | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const [preview, setPreview] = useState<"ios" | "android" | "browser">("ios");
	const confirmRef = useRef<HTMLDialogElement>(null);
	const pending = useRef<Record<string, unknown> | null>(null);

	// The live estimate: recounted half a second after the audience stops changing.
	useEffect(() => {
		let audience: Record<string, unknown> | undefined;
		try {
			audience = audienceOf(s);
		} catch (e) {
			setEstimateError(e instanceof Error ? e.message : String(e));
			return;
		}
		setEstimateError(null);
		if (!audience) {
			setEstimate(null);
			return;
		}
		const timer = setTimeout(() => {
			api<{ users: number; capped: boolean }>("POST", "/v1/audience/estimate", { audience }).then(setEstimate, (e) =>
				setEstimateError(errorText(e)),
			);
		}, 500);
		return () => clearTimeout(timer);
	}, [s.mode, s.users, s.any, s.all, s.none, s.filter]);

	const submit = async (body: Record<string, unknown>) => {
		setBusy(true);
		setError(null);
		setResult(null);
		try {
			const when = whenOf(s);
			if (when) {
				const r = await api<{ id: string }>("POST", "/v1/schedules", { message: body, when });
				setResult({ kind: "schedule", id: r.id });
			} else {
				const r = await api<{ id: string }>("POST", "/v1/messages", body);
				setResult({ kind: "message", id: r.id });
			}
		} catch (e) {
			setError(errorText(e));
		} finally {
			setBusy(false);
		}
	};

	const onSend = (e: Event) => {
		e.preventDefault();
		let body: Record<string, unknown>;
		try {
			body = messageOf(s);
		} catch (err) {
			setError(err instanceof Error ? err.message : String(err));
			return;
		}
		// A send to everyone is confirmed with its audience size first.
		if (s.mode === "all") {
			pending.current = body;
			confirmRef.current?.showModal();
			return;
		}
		void submit(body);
	};

	const media = s.type !== "text" && s.type !== "custom";
	return (
		<Page title="nav.compose">
			<form class="compose" onSubmit={onSend}>
				<div class="compose-main">
					<Card title="compose.audience">
						<fieldset>
							<legend>{t("compose.audienceKind")}</legend>
							{(["users", "tags", "all", "filter"] as const).map((m) => (
								<label key={m} class="radio">
									<input type="radio" name="audience" value={m} checked={s.mode === m} onChange={() => set("mode")(m)} />
									{t(`compose.mode.${m}` as MessageKey)}
								</label>
							))}
						</fieldset>
						{s.mode === "users" && (
							<TextArea label="compose.users" value={s.users} onValue={set("users")} rows={2} hint="compose.usersHint" />
						)}
						{s.mode === "tags" && (
							<div class="row">
								<Field label="compose.tagsAny" value={s.any} onValue={set("any")} />
								<Field label="compose.tagsAll" value={s.all} onValue={set("all")} />
								<Field label="compose.tagsNone" value={s.none} onValue={set("none")} />
							</div>
						)}
						{s.mode !== "users" && (
							<TextArea label="compose.filter" value={s.filter} onValue={set("filter")} rows={3} hint="compose.filterHint" />
						)}
						<p aria-live="polite" data-testid="estimate">
							{estimateError ? (
								<span class="error">{estimateError}</span>
							) : estimate ? (
								t(estimate.capped ? "compose.estimateCapped" : "compose.estimate", { n: estimate.users })
							) : (
								<span class="muted">{t("compose.estimateNone")}</span>
							)}
						</p>
					</Card>
					<Card title="compose.content">
						<Field label="compose.template" value={s.templateId} onValue={set("templateId")} hint="compose.templateHint" />
						{s.templateId ? (
							<TextArea label="compose.variables" value={s.variables} onValue={set("variables")} rows={3} />
						) : (
							<>
								<Select
									label="compose.type"
									value={s.type}
									onValue={set("type")}
									options={(["text", "image", "video", "audio", "file", "custom"] as const).map((c) => ({
										value: c,
										label: t(`compose.type.${c}` as MessageKey),
									}))}
								/>
								<Field label="compose.title" value={s.title} onValue={set("title")} maxLength={1024} />
								<TextArea label="compose.body" value={s.body} onValue={set("body")} rows={3} />
								{media && (
									<Field
										label="compose.mediaUrl"
										type="url"
										value={s.mediaUrl}
										onValue={set("mediaUrl")}
										placeholder="https://"
									/>
								)}
								<Field label="compose.url" value={s.url} onValue={set("url")} />
								<TextArea label="compose.data" value={s.data} onValue={set("data")} rows={3} hint="compose.jsonHint" />
								<details>
									<summary>{t("compose.vendorOverrides")}</summary>
									{VENDORS.map((v) => (
										<TextArea
											key={v}
											label={`compose.vendor.${v}` as MessageKey}
											value={s.vendor[v]}
											onValue={(x) => setS((p) => ({ ...p, vendor: { ...p.vendor, [v]: x } }))}
											rows={2}
										/>
									))}
								</details>
							</>
						)}
					</Card>
					<Card title="compose.options">
						<div class="row">
							<Field label="compose.ttl" type="number" min={1} value={s.ttl} onValue={set("ttl")} />
							<Select
								label="compose.priority"
								value={s.priority}
								onValue={set("priority")}
								options={[
									{ value: "", label: t("common.default") },
									{ value: "high", label: t("compose.priority.high") },
									{ value: "normal", label: t("compose.priority.normal") },
								]}
							/>
							<Field label="compose.collapseKey" value={s.collapseKey} onValue={set("collapseKey")} />
							<Select
								label="compose.channels"
								value={s.channels}
								onValue={set("channels")}
								options={[
									{ value: "", label: t("common.default") },
									{ value: "auto", label: t("compose.channels.auto") },
									{ value: "ws", label: t("compose.channels.ws") },
									{ value: "vendor", label: t("compose.channels.vendor") },
									{ value: "all", label: t("compose.channels.all") },
								]}
							/>
							<Field label="compose.category" value={s.category} onValue={set("category")} />
						</div>
					</Card>
					<Card title="compose.when">
						<fieldset>
							<legend>{t("compose.whenKind")}</legend>
							{(["now", "at", "cron", "local_time", "optimal"] as const).map((w) => (
								<label key={w} class="radio">
									<input type="radio" name="when" value={w} checked={s.when === w} onChange={() => set("when")(w)} />
									{t(`compose.when.${w}` as MessageKey)}
								</label>
							))}
						</fieldset>
						{s.when === "at" && (
							<Field label="compose.at" type="datetime-local" step={1} value={s.at} onValue={set("at")} required />
						)}
						{s.when === "cron" && (
							<div class="row">
								<Field label="compose.cron" value={s.cron} onValue={set("cron")} required />
								<Field label="compose.zone" value={s.zone} onValue={set("zone")} required />
							</div>
						)}
						{s.when === "local_time" && (
							<Field label="compose.localTime" type="datetime-local" value={s.localTime} onValue={set("localTime")} required />
						)}
						{s.when === "optimal" && (
							<div class="row">
								<Field
									label="compose.withinHours"
									type="number"
									min={1}
									max={168}
									value={s.withinHours}
									onValue={set("withinHours")}
								/>
								<Field label="compose.fallback" type="time" value={s.fallback} onValue={set("fallback")} />
							</div>
						)}
					</Card>
					<div class="row">
						<button type="submit" class="primary" disabled={busy}>
							{t(s.when === "now" ? "compose.sendNow" : "compose.schedule")}
						</button>
					</div>
					{error ? (
						<p class="error" role="alert">
							{error}
						</p>
					) : null}
					{result ? (
						<p role="status" data-testid="compose-result">
							{t(result.kind === "message" ? "compose.sent" : "compose.scheduled", { id: result.id })}{" "}
							<a
								href={`/console/${result.kind === "message" ? "messages" : "schedules"}/${enc(result.id)}`}
								onClick={(e) => {
									e.preventDefault();
									navigate(`/${result.kind === "message" ? "messages" : "schedules"}/${enc(result.id)}`);
								}}
							>
								{t("common.open")}
							</a>
						</p>
					) : null}
				</div>
				<aside class="compose-preview" aria-label={t("compose.preview")}>
					{s.templateId.trim() ? <ComposeTemplatePreview id={s.templateId.trim()} /> : null}
					<h2>{t("compose.preview")}</h2>
					<fieldset class="tabs">
						<legend class="visually-hidden">{t("compose.preview")}</legend>
						{(["ios", "android", "browser"] as const).map((p) => (
							<button
								key={p}
								type="button"
								aria-pressed={preview === p}
								class={preview === p ? "tab active" : "tab"}
								onClick={() => setPreview(p)}
							>
								{t(`compose.preview.${p}` as MessageKey)}
							</button>
						))}
					</fieldset>
					<div class={`notification ${preview}`}>
						<div class="notification-head">
							<span class="app-icon" aria-hidden="true" />
							<span>{t("compose.preview.app")}</span>
							<span class="muted">{t("compose.preview.now")}</span>
						</div>
						<strong>
							{s.templateId ? t("compose.preview.template", { id: s.templateId }) : s.title || t("compose.preview.noTitle")}
						</strong>
						<p>{s.templateId ? "" : s.body}</p>
						{media && s.mediaUrl.startsWith("https://") && s.type === "image" ? <img src={s.mediaUrl} alt="" /> : null}
					</div>
				</aside>
			</form>
			<dialog ref={confirmRef} aria-labelledby="confirm-title">
				<h2 id="confirm-title">{t("compose.confirmTitle")}</h2>
				<p>{t("compose.confirmBody", { n: estimate ? formatNumber(estimate.users) : "?" })}</p>
				<div class="row">
					<button
						type="button"
						class="danger"
						onClick={() => {
							confirmRef.current?.close();
							if (pending.current) void submit(pending.current);
						}}
					>
						{t("compose.confirmSend")}
					</button>
					<button type="button" class="secondary" onClick={() => confirmRef.current?.close()}>
						{t("common.cancel")}
					</button>
				</div>
			</dialog>
		</Page>
	);
}
