import { useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatDate, formatNumber, type MessageKey, t } from "../i18n/index.js";
import { navigate } from "../store.js";
import { Action, Card, ErrorBox, Json, Loading, Page, Select, useAsync } from "../ui/common.js";

interface Schedule {
	id: string;
	status: "active" | "paused" | "done" | "canceled";
	when: Record<string, unknown>;
	next_run_at: string | null;
	run_count: number;
	runs?: { at: string; message_id: string | null; outcome: string; fired_at: string }[];
	message?: unknown;
	created_at: string;
}

const statusKey = (s: string) => `schedules.status.${s}` as MessageKey;

function whenText(w: Record<string, unknown>): string {
	if ("at" in w) return t("schedules.whenAt", { at: formatDate(String(w.at)) });
	if ("cron" in w) return t("schedules.whenCron", { cron: String(w.cron), zone: String(w.timezone ?? "UTC") });
	if ("local_time" in w) return t("schedules.whenLocal", { at: String(w.local_time) });
	return t("schedules.whenOptimal");
}

export function SchedulesPage({ rest }: { rest: string[] }) {
	const [status, setStatus] = useState("");
	const list = useAsync(
		() => api<{ schedules: Schedule[] }>("GET", `/v1/schedules?limit=200${status ? `&status=${status}` : ""}`),
		[status],
	);
	return (
		<Page title="nav.schedules">
			<Select
				label="schedules.filter"
				value={status}
				onValue={setStatus}
				options={[
					{ value: "", label: t("common.any") },
					...(["active", "paused", "done", "canceled"] as const).map((s) => ({ value: s, label: t(statusKey(s)) })),
				]}
			/>
			<Loading when={list.loading} />
			<ErrorBox error={list.error} />
			{list.data?.schedules.length === 0 ? <p class="muted">{t("common.empty")}</p> : null}
			{list.data?.schedules.length ? (
				<div class="table-wrap">
					<table>
						<thead>
							<tr>
								<th scope="col">{t("schedules.id")}</th>
								<th scope="col">{t("schedules.when")}</th>
								<th scope="col">{t("common.state")}</th>
								<th scope="col">{t("schedules.next")}</th>
								<th scope="col">{t("schedules.runs")}</th>
							</tr>
						</thead>
						<tbody>
							{list.data.schedules.map((s) => (
								<tr key={s.id} data-schedule-id={s.id}>
									<td>
										<a
											href={`/console/schedules/${enc(s.id)}`}
											onClick={(e) => {
												e.preventDefault();
												navigate(`/schedules/${enc(s.id)}`);
											}}
										>
											<code>{s.id}</code>
										</a>
									</td>
									<td>{whenText(s.when)}</td>
									<td>{t(statusKey(s.status))}</td>
									<td>{formatDate(s.next_run_at)}</td>
									<td>{formatNumber(s.run_count)}</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			) : null}
			{rest[0] ? <ScheduleDetail id={rest[0]} onChange={list.reload} /> : null}
		</Page>
	);
}

function ScheduleDetail({ id, onChange }: { id: string; onChange: () => void }) {
	const s = useAsync(() => api<Schedule>("GET", `/v1/schedules/${enc(id)}`), [id]);
	const act = (what: "pause" | "resume") => async () => {
		await api("POST", `/v1/schedules/${enc(id)}/${what}`);
		s.reload();
		onChange();
	};
	const d = s.data;
	return (
		<Card title="schedules.detail">
			<Loading when={s.loading} />
			<ErrorBox error={s.error} />
			{d ? (
				<>
					<dl class="kv">
						<dt>{t("schedules.id")}</dt>
						<dd>
							<code>{d.id}</code>
						</dd>
						<dt>{t("common.state")}</dt>
						<dd data-testid="schedule-status">{t(statusKey(d.status))}</dd>
						<dt>{t("schedules.when")}</dt>
						<dd>{whenText(d.when)}</dd>
						<dt>{t("schedules.next")}</dt>
						<dd>{formatDate(d.next_run_at)}</dd>
					</dl>
					<div class="row">
						{d.status === "active" ? <Action label="schedules.pause" kind="secondary" run={act("pause")} /> : null}
						{d.status === "paused" ? <Action label="schedules.resume" run={act("resume")} /> : null}
						<Action label="common.refresh" kind="secondary" run={async () => s.reload()} />
					</div>
					<h3>{t("schedules.runs")}</h3>
					{d.runs?.length ? (
						<table data-testid="schedule-runs">
							<thead>
								<tr>
									<th scope="col">{t("schedules.runAt")}</th>
									<th scope="col">{t("schedules.outcome")}</th>
									<th scope="col">{t("schedules.message")}</th>
								</tr>
							</thead>
							<tbody>
								{d.runs.map((r) => (
									<tr key={r.at}>
										<td>{formatDate(r.fired_at ?? r.at)}</td>
										<td>{r.outcome === "sent" ? t("schedules.sent") : t("schedules.missed")}</td>
										<td>
											{r.message_id ? (
												<a
													href={`/console/messages/${enc(r.message_id)}`}
													onClick={(e) => {
														e.preventDefault();
														navigate(`/messages/${enc(r.message_id ?? "")}`);
													}}
												>
													<code>{r.message_id}</code>
												</a>
											) : (
												"—"
											)}
										</td>
									</tr>
								))}
							</tbody>
						</table>
					) : (
						<p class="muted">{t("schedules.noRuns")}</p>
					)}
					<details>
						<summary>{t("schedules.message")}</summary>
						<Json value={d.message} />
					</details>
				</>
			) : null}
		</Card>
	);
}
