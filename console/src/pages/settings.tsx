import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { t } from "../i18n/index.js";
import { Card, ErrorBox, Field, Loading, Page, parseJsonField, Select, TextArea, useAsync } from "../ui/common.js";

interface Settings {
	frequency_caps?: unknown[];
	quiet_hours?: { start: string; end: string; action: "hold" | "drop" } | null;
	default_timezone?: string;
	vendor_fallback_ms?: number;
	inbox_cap?: number;
}

export function SettingsPage() {
	const settings = useAsync(() => api<Settings>("GET", "/v1/settings"), []);
	const [zone, setZone] = useState("");
	const [fallback, setFallback] = useState("");
	const [cap, setCap] = useState("");
	const [quiet, setQuiet] = useState({ on: false, start: "22:00", end: "08:00", action: "hold" as "hold" | "drop" });
	const [caps, setCaps] = useState("");
	const [error, setError] = useState<unknown>(null);
	const [saved, setSaved] = useState(false);
	useEffect(() => {
		const s = settings.data;
		if (!s) return;
		setZone(s.default_timezone ?? "UTC");
		setFallback(String(s.vendor_fallback_ms ?? 3000));
		setCap(String(s.inbox_cap ?? 1000));
		setQuiet(s.quiet_hours ? { on: true, ...s.quiet_hours } : { on: false, start: "22:00", end: "08:00", action: "hold" });
		setCaps(s.frequency_caps?.length ? JSON.stringify(s.frequency_caps, null, 2) : "");
	}, [settings.data]);
	return (
		<Page title="nav.settings">
			<Loading when={settings.loading} />
			<ErrorBox error={settings.error} />
			{settings.data ? (
				<form
					onSubmit={async (e) => {
						e.preventDefault();
						setError(null);
						setSaved(false);
						try {
							await api("PATCH", "/v1/settings", {
								default_timezone: zone,
								vendor_fallback_ms: Number(fallback),
								inbox_cap: Number(cap),
								quiet_hours: quiet.on ? { start: quiet.start, end: quiet.end, action: quiet.action } : null,
								frequency_caps: (parseJsonField(caps, "settings.caps") as unknown[] | undefined) ?? null,
							});
							setSaved(true);
							settings.reload();
						} catch (err) {
							setError(err);
						}
					}}
				>
					<Card title="settings.delivery">
						<div class="row">
							<Field label="settings.zone" value={zone} onValue={setZone} />
							<Field label="settings.fallback" type="number" min={0} max={600000} value={fallback} onValue={setFallback} />
							<Field label="settings.inboxCap" type="number" min={10} max={10000} value={cap} onValue={setCap} />
						</div>
					</Card>
					<Card title="settings.quiet">
						<label class="radio">
							<input
								type="checkbox"
								checked={quiet.on}
								onChange={(e) => setQuiet({ ...quiet, on: (e.target as HTMLInputElement).checked })}
							/>
							{t("settings.quietOn")}
						</label>
						{quiet.on ? (
							<div class="row">
								<Field
									label="settings.quietStart"
									type="time"
									value={quiet.start}
									onValue={(v) => setQuiet({ ...quiet, start: v })}
								/>
								<Field label="settings.quietEnd" type="time" value={quiet.end} onValue={(v) => setQuiet({ ...quiet, end: v })} />
								<Select
									label="settings.quietAction"
									value={quiet.action}
									onValue={(v) => setQuiet({ ...quiet, action: v })}
									options={[
										{ value: "hold", label: t("settings.hold") },
										{ value: "drop", label: t("settings.drop") },
									]}
								/>
							</div>
						) : null}
					</Card>
					<Card title="settings.caps">
						<TextArea label="settings.caps" value={caps} onValue={setCaps} rows={4} hint="settings.capsHint" />
					</Card>
					<button type="submit" class="primary">
						{t("common.save")}
					</button>
					{saved ? <p role="status">{t("common.saved")}</p> : null}
					<ErrorBox error={error} />
				</form>
			) : null}
		</Page>
	);
}
