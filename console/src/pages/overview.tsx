import { useMemo, useState } from "preact/hooks";
import { getOptional } from "../api.js";
import { formatDate, formatMoney, formatNumber, type MessageKey, t } from "../i18n/index.js";
import { TimeChart } from "../ui/chart.js";
import { Card, ErrorBox, Loading, NotAvailable, Page, Select, useAsync } from "../ui/common.js";

const METRICS = ["sent", "delivered", "opened", "clicked", "failed", "accepted", "acked"] as const;
type Metric = (typeof METRICS)[number];

interface StatsPoint {
	at: string;
	[field: string]: number | string;
}
interface Stats {
	interval: "hour" | "day";
	series: { key: string | null; points: StatsPoint[] }[];
	totals: Record<string, number>;
}
interface Online {
	users: number;
	devices: number;
	at: string;
}
interface Usage {
	month: string;
	totals: Record<string, number | Record<string, number>>;
	mau_definition?: string;
	estimated_cost?: {
		currency: string;
		total: number;
		lines: { item: string; quantity: number; amount: number }[];
	};
	quotas?: { limit: string; used: number; max: number; period: string }[];
}

export function channelLabel(key: string | null): string {
	const known: Record<string, MessageKey> = {
		websocket: "channel.websocket",
		apns: "channel.apns",
		fcm: "channel.fcm",
		hms: "channel.hms",
		xiaomi: "channel.xiaomi",
		webpush: "channel.webpush",
		oppo: "channel.oppo",
		vivo: "channel.vivo",
		honor: "channel.honor",
		meizu: "channel.meizu",
	};
	if (key === null) return t("channel.none");
	const k = known[key];
	return k ? t(k) : key;
}

const metricKey = (m: Metric) => `metric.${m}` as MessageKey;

export function OverviewPage() {
	const [range, setRange] = useState<"24h" | "7d" | "30d">("24h");
	const [metric, setMetric] = useState<Metric>("delivered");
	const stats = useAsync(() => {
		const hours = range === "24h" ? 24 : range === "7d" ? 168 : 720;
		const to = new Date();
		const from = new Date(to.getTime() - hours * 3600_000);
		const interval = range === "24h" ? "hour" : "day";
		return getOptional<Stats>(
			`/v1/stats?group_by=channel&interval=${interval}&from=${from.toISOString()}&to=${to.toISOString()}`,
		);
	}, [range]);
	const online = useAsync(() => getOptional<Online>("/v1/stats/online"), []);
	const usage = useAsync(() => getOptional<Usage>("/v1/usage"), []);

	const chart = useMemo(() => {
		const s = stats.data;
		if (!s) return undefined;
		const times = [...new Set(s.series.flatMap((x) => x.points.map((p) => Date.parse(p.at))))].sort((a, b) => a - b);
		const all = s.series.map((x) => {
			const byTime = new Map(x.points.map((p) => [Date.parse(p.at), Number(p[metric] ?? 0)]));
			return { label: channelLabel(x.key), values: times.map((tm) => byTime.get(tm) ?? 0) };
		});
		// Channels with nothing in the range only clutter the legend; with no data at all, every line stays (flat).
		const moving = all.filter((x) => x.values.some((v) => v > 0));
		const series = moving.length ? moving : all;
		return { times, series, interval: s.interval };
	}, [stats.data, metric]);

	return (
		<Page title="nav.overview">
			<div class="grid">
				<Card title="overview.online">
					<Loading when={online.loading} />
					<ErrorBox error={online.error} />
					{online.data ? (
						<dl class="kv big">
							<dt>{t("overview.onlineUsers")}</dt>
							<dd data-testid="online-users">{formatNumber(online.data.users)}</dd>
							<dt>{t("overview.onlineDevices")}</dt>
							<dd>{formatNumber(online.data.devices)}</dd>
						</dl>
					) : !online.loading && !online.error ? (
						<NotAvailable />
					) : null}
				</Card>
				<Card title="overview.totals">
					{stats.data ? (
						<dl class="kv">
							{METRICS.map((m) => (
								<>
									<dt>{t(metricKey(m))}</dt>
									<dd>{formatNumber(stats.data?.totals[m] ?? 0)}</dd>
								</>
							))}
						</dl>
					) : !stats.loading && !stats.error ? (
						<NotAvailable />
					) : null}
				</Card>
			</div>
			<Card title="overview.byChannel">
				<div class="row">
					<Select
						label="overview.range"
						value={range}
						onValue={setRange}
						options={[
							{ value: "24h", label: t("overview.range24h") },
							{ value: "7d", label: t("overview.range7d") },
							{ value: "30d", label: t("overview.range30d") },
						]}
					/>
					<Select
						label="overview.metric"
						value={metric}
						onValue={setMetric}
						options={METRICS.map((m) => ({ value: m, label: t(metricKey(m)) }))}
					/>
				</div>
				<Loading when={stats.loading} />
				<ErrorBox error={stats.error} />
				{chart && chart.series.length > 0 ? (
					<TimeChart
						times={chart.times}
						series={chart.series}
						interval={chart.interval}
						label={t("overview.chartLabel", { metric: t(metricKey(metric)) })}
						timeLabel={t("overview.time")}
					/>
				) : chart ? (
					<p class="muted">{t("overview.noData")}</p>
				) : !stats.loading && !stats.error ? (
					<NotAvailable />
				) : null}
			</Card>
			<Card title="overview.usage">
				<Loading when={usage.loading} />
				<ErrorBox error={usage.error} />
				{usage.data ? <UsageView usage={usage.data} /> : !usage.loading && !usage.error ? <NotAvailable /> : null}
			</Card>
		</Page>
	);
}

function UsageView({ usage }: { usage: Usage }) {
	const num = (v: unknown) => (typeof v === "number" ? formatNumber(v) : "—");
	const cost = usage.estimated_cost;
	return (
		<>
			<p>{t("overview.month", { month: usage.month })}</p>
			<dl class="kv">
				<dt>{t("usage.apiRequests")}</dt>
				<dd>{num(usage.totals.api_requests)}</dd>
				<dt>{t("usage.messages")}</dt>
				<dd>{num(usage.totals.messages_accepted)}</dd>
				<dt>{t("usage.mau")}</dt>
				<dd>{num(usage.totals.mau)}</dd>
				<dt>{t("usage.peakConnections")}</dt>
				<dd>{num(usage.totals.peak_connections)}</dd>
			</dl>
			{cost ? (
				<>
					<h3>{t("usage.estimatedCost")}</h3>
					<p class="big" data-testid="estimated-cost">
						{formatMoney(cost.total, cost.currency)}
					</p>
					<table>
						<caption class="visually-hidden">{t("usage.estimatedCost")}</caption>
						<thead>
							<tr>
								<th scope="col">{t("usage.item")}</th>
								<th scope="col">{t("usage.quantity")}</th>
								<th scope="col">{t("usage.amount")}</th>
							</tr>
						</thead>
						<tbody>
							{cost.lines.map((l) => (
								<tr key={l.item}>
									<td>{l.item}</td>
									<td>{formatNumber(l.quantity)}</td>
									<td>{formatMoney(l.amount, cost.currency)}</td>
								</tr>
							))}
						</tbody>
					</table>
				</>
			) : null}
			{usage.quotas?.length ? (
				<>
					<h3>{t("usage.quotas")}</h3>
					<ul>
						{usage.quotas.map((q) => (
							<li key={q.limit}>
								{q.limit}: {formatNumber(q.used)} / {formatNumber(q.max)}
							</li>
						))}
					</ul>
				</>
			) : null}
			<p class="muted">{t("overview.updated", { at: formatDate(Date.now()) })}</p>
		</>
	);
}
