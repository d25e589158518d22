import { useState } from "preact/hooks";
import type { UsageDayCounts } from "../../../protocol/usage.js";
import { api } from "../api.js";
import { formatMoney, formatNumber, t } from "../i18n/index.js";
import { Card, ErrorBox, Field, Loading, Page, useAsync } from "../ui/common.js";

interface Day extends UsageDayCounts {
	date: string;
}
interface Usage {
	month: string;
	days: Day[];
	totals: Record<string, unknown> & { mau?: number };
	mau_definition?: string;
	estimated_cost?: { currency: string; total: number; lines: { item: string; quantity: number; amount: number }[] };
	plan: null | { id: string; name: string };
	quotas?: { limit: string; used: number; max: number; period: string }[];
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** The month's usage day by day, the plan and its quotas, and the estimated cost. */
export function UsagePage() {
	const [month, setMonth] = useState(new Date().toISOString().slice(0, 7));
	const usage = useAsync(() => api<Usage>("GET", `/v1/usage?month=${month}`), [month]);
	const u = usage.data;
	return (
		<Page title="nav.usage">
			<Field label="usage.month" type="month" value={month} onValue={(v) => /^\d{4}-\d{2}$/.test(v) && setMonth(v)} />
			<Loading when={usage.loading} />
			<ErrorBox error={usage.error} />
			{u ? (
				<>
					<div class="grid">
						<Card title="usage.plan">
							<p class="big">{u.plan ? u.plan.name : t("usage.noPlan")}</p>
							{u.quotas?.length ? (
								<ul>
									{u.quotas.map((q) => (
										<li key={q.limit}>
											<code>{q.limit}</code>: {formatNumber(q.used)} / {formatNumber(q.max)}{" "}
											<meter min={0} max={q.max} value={q.used} aria-label={q.limit} />
										</li>
									))}
								</ul>
							) : null}
						</Card>
						<Card title="usage.estimatedCost">
							<p class="big">{u.estimated_cost ? formatMoney(u.estimated_cost.total, u.estimated_cost.currency) : "—"}</p>
							<p>
								{t("usage.mau")}: {formatNumber(Number(u.totals.mau ?? 0))}
							</p>
						</Card>
					</div>
					<Card title="usage.daily">
						<div class="table-wrap">
							<table>
								<thead>
									<tr>
										<th scope="col">{t("usage.date")}</th>
										<th scope="col">{t("usage.apiRequests")}</th>
										<th scope="col">{t("usage.messages")}</th>
										<th scope="col">{t("usage.deliveries")}</th>
										<th scope="col">{t("metric.opened")}</th>
										<th scope="col">{t("metric.clicked")}</th>
										<th scope="col">{t("usage.peakConnections")}</th>
										<th scope="col">{t("usage.webhookDeliveries")}</th>
									</tr>
								</thead>
								<tbody>
									{u.days.map((d) => (
										<tr key={d.date}>
											<td>{d.date}</td>
											<td>{formatNumber(d.api_requests)}</td>
											<td>{formatNumber(d.messages_accepted)}</td>
											<td>{formatNumber(sum(d.deliveries))}</td>
											<td>{formatNumber(d.opens)}</td>
											<td>{formatNumber(d.clicks)}</td>
											<td>{formatNumber(d.peak_connections)}</td>
											<td>{formatNumber(d.webhook_deliveries)}</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					</Card>
				</>
			) : null}
		</Page>
	);
}
