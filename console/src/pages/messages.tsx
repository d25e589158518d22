import { useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatDate, formatNumber, type MessageKey, t } from "../i18n/index.js";
import { navigate } from "../store.js";
import { Action, Card, Dash, ErrorBox, Field, Json, Loading, NotAvailable, Page, Select, useAsync } from "../ui/common.js";
import { channelLabel } from "./overview.js";

const COUNT_FIELDS = ["targeted", "delivered", "acked", "opened", "clicked", "failed", "expired", "capped", "dropped"] as const;
const FUNNEL = ["targeted", "delivered", "acked", "opened", "clicked"] as const;
const STATUSES = ["", "accepted", "fanning_out", "done", "recalled"] as const;

interface MessageRow {
	id: string;
	status?: string;
	created_at?: string;
	audience?: unknown;
	audience_kind?: "users" | "tags" | "all" | "filter";
	users?: number;
	content?: { type?: string; title?: string; body?: string };
	source?: { kind?: string; id?: string } | null;
}

type ChannelCounts = Record<string, Record<string, number>>;

interface MessageDetail extends MessageRow {
	options?: Record<string, unknown>;
	expires_at?: string;
	counts?: Record<string, number> & { by_channel?: ChannelCounts };
	funnel?: { targeted: number; delivered: number; opened: number; clicked: number; by_channel?: ChannelCounts };
}

export function statusLabel(status: string | undefined): string {
	const known: Record<string, MessageKey> = {
		accepted: "status.accepted",
		fanning_out: "status.fanning_out",
		done: "status.done",
		recalled: "status.recalled",
		delivered: "status.delivered",
		acked: "status.acked",
		failed: "status.failed",
		expired: "status.expired",
		pending: "status.pending",
		queued: "status.queued",
		opened: "status.opened",
		capped: "status.capped",
		dropped: "status.dropped",
	};
	if (!status) return "—";
	const k = known[status];
	return k ? t(k) : status;
}

function kindText(m: MessageRow): string {
	switch (m.audience_kind) {
		case "users":
			return t("audience.usersN", { n: m.users ?? 0 });
		case "all":
			return t("audience.everyone");
		case "tags":
			return t("audience.tags");
		case "filter":
			return t("audience.filter");
		default:
			return audienceText(m.audience);
	}
}

/** Runs `fn` over `items`, `limit` at a time (the log reads each listed message's counts). */
async function bounded<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
	const out: R[] = new Array(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const i = next++;
			out[i] = await fn(items[i] as T);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return out;
}

export function audienceText(a: unknown): string {
	if (!a || typeof a !== "object") return "—";
	const o = a as Record<string, unknown>;
	if (Array.isArray(o.users)) return t("audience.usersN", { n: o.users.length });
	if (o.all) return t("audience.everyone");
	if (o.tags) return t("audience.tags");
	if (o.filter) return t("audience.filter");
	return "—";
}

const RECIPIENTS_PAGE = 20;

interface Recipient {
	user_id: string;
	status: string;
	delivered_at?: string;
	devices: { device_id: string; channel: string; outcome: string; reason: string | null }[];
}

/**
 * A message's recipients (direct or broadcast), a page at a time from the paged listing, each with
 * where it stands and its vendor devices' outcomes. Earlier pages' cursors are kept for "previous".
 */
function Recipients({ id, total }: { id: string; total: number }) {
	const [cursors, setCursors] = useState<(string | null)[]>([null]);
	const pageIndex = cursors.length - 1;
	const cursor = cursors[pageIndex];
	const rows = useAsync(
		() =>
			api<{ recipients: Recipient[]; next_cursor: string | null }>(
				"GET",
				`/v1/messages/${enc(id)}/recipients?limit=${RECIPIENTS_PAGE}${cursor ? `&cursor=${enc(cursor)}` : ""}`,
			),
		[id, cursor],
	);
	const next = rows.data?.next_cursor ?? null;
	const pages = Math.max(pageIndex + (next ? 2 : 1), Math.ceil(total / RECIPIENTS_PAGE));
	return (
		<Card title="messages.recipients">
			<Loading when={rows.loading} />
			{rows.data ? (
				<div class="table-wrap">
					<table data-testid="recipients">
						<thead>
							<tr>
								<th scope="col">{t("messages.user")}</th>
								<th scope="col">{t("messages.status")}</th>
								<th scope="col">{t("messages.deliveredAt")}</th>
								<th scope="col">{t("messages.devices")}</th>
							</tr>
						</thead>
						<tbody>
							{rows.data.recipients.map((r) => (
								<tr key={r.user_id} data-user={r.user_id}>
									<td>
										<code>{r.user_id}</code>
									</td>
									<td data-field="status">{statusLabel(r.status)}</td>
									<td>{formatDate(r.delivered_at)}</td>
									<td>
										{r.devices.length
											? r.devices
													.map(
														(d) => `${d.device_id} (${channelLabel(d.channel)}): ${d.outcome}${d.reason ? ` — ${d.reason}` : ""}`,
													)
													.join("; ")
											: "—"}
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			) : null}
			{pageIndex > 0 || next ? (
				<div class="row">
					<button type="button" class="secondary" disabled={pageIndex === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
						{t("common.previous")}
					</button>
					<span>{t("common.pageOf", { page: pageIndex + 1, pages })}</span>
					<button type="button" class="secondary" disabled={!next} onClick={() => setCursors([...cursors, next])}>
						{t("common.next")}
					</button>
				</div>
			) : null}
		</Card>
	);
}

export function MessagesPage({ rest }: { rest: string[] }) {
	return rest[0] ? <MessageDetailView id={rest[0]} /> : <MessageLog />;
}

function MessageLog() {
	const [filters, setFilters] = useState({
		q: "",
		status: "",
		audience: "",
		from: "",
		to: "",
		template_id: "",
		schedule_id: "",
		automation_id: "",
		user_id: "",
		tag: "",
	});
	const [applied, setApplied] = useState(filters);
	const [cursor, setCursor] = useState<string | undefined>();
	const set = (k: keyof typeof filters) => (v: string) => setFilters({ ...filters, [k]: v });
	const list = useAsync(async () => {
		const q = new URLSearchParams({ limit: "50" });
		for (const [k, v] of Object.entries(applied)) {
			if (!v) continue;
			q.set(k, k === "from" || k === "to" ? new Date(v).toISOString() : v.trim());
		}
		if (cursor) q.set("cursor", cursor);
		const page = await api<{ messages: MessageRow[]; next_cursor?: string | null }>("GET", `/v1/messages?${q}`);
		// The log lists messages; their live counts come from each message (a few at a time).
		const counts = await bounded(page.messages, 4, (m) =>
			api<MessageDetail>("GET", `/v1/messages/${enc(m.id)}`).then(
				(d) => d.counts,
				() => undefined,
			),
		);
		return { ...page, messages: page.messages.map((m, i) => ({ ...m, counts: counts[i] })) };
	}, [applied, cursor]);

	return (
		<Page title="nav.messages">
			<form
				class="filters"
				aria-label={t("messages.filters")}
				onSubmit={(e) => {
					e.preventDefault();
					setCursor(undefined);
					setApplied(filters);
				}}
			>
				<Field label="messages.q" value={filters.q} onValue={set("q")} hint="messages.qHint" />
				<Select
					label="messages.status"
					value={filters.status as (typeof STATUSES)[number]}
					onValue={set("status")}
					options={STATUSES.map((s) => ({ value: s, label: s ? statusLabel(s) : t("common.any") }))}
				/>
				<Field label="messages.from" type="datetime-local" value={filters.from} onValue={set("from")} />
				<Field label="messages.to" type="datetime-local" value={filters.to} onValue={set("to")} />
				<Field label="messages.template" value={filters.template_id} onValue={set("template_id")} />
				<Select
					label="messages.audience"
					value={filters.audience as "" | "users" | "tags" | "all" | "filter"}
					onValue={set("audience")}
					options={[
						{ value: "", label: t("common.any") },
						{ value: "users", label: t("compose.mode.users") },
						{ value: "tags", label: t("compose.mode.tags") },
						{ value: "all", label: t("compose.mode.all") },
						{ value: "filter", label: t("compose.mode.filter") },
					]}
				/>
				<Field label="messages.schedule" value={filters.schedule_id} onValue={set("schedule_id")} />
				<Field label="messages.automation" value={filters.automation_id} onValue={set("automation_id")} />
				<Field label="messages.user" value={filters.user_id} onValue={set("user_id")} />
				<Field label="messages.tag" value={filters.tag} onValue={set("tag")} />
				<button type="submit" class="primary">
					{t("common.search")}
				</button>
			</form>
			<Loading when={list.loading} />
			<ErrorBox error={list.error} />
			{list.data ? (
				list.data.messages.length === 0 ? (
					<p class="muted">{t("messages.none")}</p>
				) : (
					<div class="table-wrap">
						<table data-testid="message-log">
							<caption class="visually-hidden">{t("nav.messages")}</caption>
							<thead>
								<tr>
									<th scope="col">{t("messages.id")}</th>
									<th scope="col">{t("messages.created")}</th>
									<th scope="col">{t("messages.status")}</th>
									<th scope="col">{t("messages.audience")}</th>
									<th scope="col">{t("messages.titleCol")}</th>
									<th scope="col">{t("metric.delivered")}</th>
									<th scope="col">{t("metric.opened")}</th>
								</tr>
							</thead>
							<tbody>
								{list.data.messages.map((m) => (
									<tr key={m.id} data-message-id={m.id}>
										<td>
											<a
												href={`/console/messages/${enc(m.id)}`}
												onClick={(e) => {
													e.preventDefault();
													navigate(`/messages/${enc(m.id)}`);
												}}
											>
												<code>{m.id}</code>
											</a>
										</td>
										<td>{formatDate(m.created_at)}</td>
										<td>{statusLabel(m.status)}</td>
										<td>{kindText(m)}</td>
										<td>
											<Dash value={m.content?.title ?? m.content?.body} />
										</td>
										<td data-field="delivered">{m.counts ? formatNumber(m.counts.delivered ?? 0) : "—"}</td>
										<td>{m.counts ? formatNumber(m.counts.opened ?? 0) : "—"}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				)
			) : null}
			{list.data?.next_cursor ? (
				<button type="button" class="secondary" onClick={() => setCursor(list.data?.next_cursor ?? undefined)}>
					{t("common.next")}
				</button>
			) : null}
		</Page>
	);
}

function MessageDetailView({ id }: { id: string }) {
	const msg = useAsync(() => api<MessageDetail>("GET", `/v1/messages/${enc(id)}`), [id]);
	const [recipient, setRecipient] = useState("");
	const [found, setFound] = useState<unknown>(null);
	const m = msg.data;
	const counts: Record<string, number> = { ...(m?.counts ?? {}), ...(m?.funnel ?? {}) } as Record<string, number>;
	const max = Math.max(1, counts.targeted ?? 0);
	// Vendor outcomes (sent/failed) by channel, with the funnel's targeted/delivered per channel.
	const byChannel: ChannelCounts = {};
	for (const [ch, c] of Object.entries(m?.funnel?.by_channel ?? {})) byChannel[ch] = { ...c };
	for (const [ch, c] of Object.entries(m?.counts?.by_channel ?? {})) byChannel[ch] = { ...(byChannel[ch] ?? {}), ...c };
	return (
		<Page title="messages.detail">
			<p>
				<a
					href="/console/messages"
					onClick={(e) => {
						e.preventDefault();
						navigate("/messages");
					}}
				>
					{t("messages.back")}
				</a>
			</p>
			<Loading when={msg.loading} />
			<ErrorBox error={msg.error} />
			{m ? (
				<>
					<dl class="kv">
						<dt>{t("messages.id")}</dt>
						<dd>
							<code>{m.id}</code>
						</dd>
						<dt>{t("messages.status")}</dt>
						<dd data-testid="message-status">{statusLabel(m.status)}</dd>
						<dt>{t("messages.created")}</dt>
						<dd>{formatDate(m.created_at)}</dd>
						<dt>{t("messages.expires")}</dt>
						<dd>{formatDate(m.expires_at)}</dd>
						<dt>{t("messages.audience")}</dt>
						<dd>{audienceText(m.audience)}</dd>
					</dl>
					<Card title="messages.funnel">
						<ol class="funnel" data-testid="funnel">
							{FUNNEL.map((f) => (
								<li key={f} data-field={f}>
									<span>{t(`metric.${f}` as MessageKey)}</span>
									<meter min={0} max={max} value={counts[f] ?? 0} aria-label={t(`metric.${f}` as MessageKey)} />
									<strong>{formatNumber(counts[f] ?? 0)}</strong>
								</li>
							))}
						</ol>
						<dl class="kv">
							{COUNT_FIELDS.filter((f) => !(FUNNEL as readonly string[]).includes(f)).map((f) => (
								<>
									<dt>{t(`metric.${f}` as MessageKey)}</dt>
									<dd>{formatNumber(counts[f] ?? 0)}</dd>
								</>
							))}
						</dl>
					</Card>
					<Card title="messages.byChannel">
						{Object.keys(byChannel).length ? (
							<table>
								<thead>
									<tr>
										<th scope="col">{t("messages.channel")}</th>
										<th scope="col">{t("metric.targeted")}</th>
										<th scope="col">{t("metric.delivered")}</th>
										<th scope="col">{t("metric.sent")}</th>
										<th scope="col">{t("metric.failed")}</th>
									</tr>
								</thead>
								<tbody>
									{Object.entries(byChannel).map(([ch, c]) => (
										<tr key={ch}>
											<td>{channelLabel(ch)}</td>
											<td>{formatNumber(c.targeted ?? 0)}</td>
											<td>{formatNumber(c.delivered ?? 0)}</td>
											<td>{formatNumber(c.sent ?? 0)}</td>
											<td>{formatNumber((c.failed ?? 0) + (c.invalid_token ?? 0))}</td>
										</tr>
									))}
								</tbody>
							</table>
						) : (
							<p class="muted">{t("messages.noChannels")}</p>
						)}
					</Card>
					<Recipients id={id} total={m.counts?.targeted ?? 0} />
					<Card title="messages.recipient">
						<form
							class="row"
							onSubmit={async (e) => {
								e.preventDefault();
								try {
									setFound(await api("GET", `/v1/messages/${enc(id)}/recipients/${enc(recipient)}`));
								} catch (err) {
									setFound({ error: err instanceof Error ? err.message : String(err) });
								}
							}}
						>
							<Field label="messages.user" value={recipient} onValue={setRecipient} required />
							<button type="submit" class="secondary">
								{t("messages.lookUp")}
							</button>
						</form>
						{found ? <Json value={found} /> : null}
					</Card>
					<Card title="messages.content">
						<Json value={m.content} />
						{m.options ? <Json value={m.options} /> : null}
					</Card>
					{m.status !== "recalled" ? (
						<Action
							label="messages.recall"
							kind="danger"
							run={async () => {
								if (!confirm(t("messages.recallConfirm"))) return;
								await api("DELETE", `/v1/messages/${enc(id)}`);
								msg.reload();
							}}
						/>
					) : null}
				</>
			) : !msg.loading && !msg.error ? (
				<NotAvailable />
			) : null}
		</Page>
	);
}
