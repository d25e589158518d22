import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatAxisTime, formatNumber, formatShortTime, locale } from "../i18n/index.js";

const COLORS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

export interface ChartSeries {
	label: string;
	values: number[];
}

/** A time-series line chart (uPlot): x in epoch ms, one line per series; axes in the active locale. */
export function TimeChart({
	times,
	series,
	interval,
	label,
	timeLabel,
}: {
	times: number[];
	series: ChartSeries[];
	interval: "hour" | "day";
	label: string;
	/** The legend's name for the time axis (uPlot's default is English). */
	timeLabel: string;
}) {
	const box = useRef<HTMLDivElement>(null);
	const lang = locale();
	useEffect(() => {
		const el = box.current;
		if (!el) return;
		const width = () => Math.max(280, el.clientWidth);
		const plot = new uPlot(
			{
				width: width(),
				height: 260,
				ms: 1,
				series: [
					{ label: timeLabel, value: (_u, v) => (v == null ? "—" : formatShortTime(v, interval)) },
					...series.map((s, i) => ({
						label: s.label,
						stroke: COLORS[i % COLORS.length],
						width: 2,
						value: (_u: uPlot, v: number | null) => (v == null ? "—" : formatNumber(v)),
					})),
				],
				axes: [
					{ space: 70, values: (_u, splits) => splits.map((v) => formatAxisTime(v, interval)) },
					{ values: (_u, splits) => splits.map((v) => formatNumber(v)) },
				],
				scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
			},
			[times, ...series.map((s) => s.values)],
			el,
		);
		const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
		ro.observe(el);
		return () => {
			ro.disconnect();
			plot.destroy();
		};
	}, [times, series, interval, lang, timeLabel]);
	const total = series.reduce((n, s) => n + s.values.reduce((a, b) => a + b, 0), 0);
	return <figure class="chart" ref={box} role="img" aria-label={label} data-total={total} />;
}
