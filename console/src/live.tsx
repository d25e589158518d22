import { useEffect, useRef, useState } from "preact/hooks";
import { WarblerClient } from "../../sdk/client/src/index.js";
import { api, enc } from "./api.js";
import { formatDate, t } from "./i18n/index.js";
import { adminApp, currentAppId, session, useLocale } from "./store.js";
import { Field } from "./ui/common.js";

interface Frame {
	n: number;
	kind: "message" | "recall" | "gap" | "state" | "welcome" | "error";
	at: number;
	text: string;
	detail?: unknown;
}

/**
 * The live device panel: the console becomes a WebSocket device of a chosen user through the client
 * SDK (a client token minted with the session, held in memory only) and lists the frames that arrive.
 */
export function LivePanel({ open, onClose }: { open: boolean; onClose: () => void }) {
	useLocale();
	session.use();
	adminApp.use();
	const [user, setUser] = useState("demo-user");
	const [device, setDevice] = useState("console-live");
	const [state, setState] = useState("disconnected");
	const [frames, setFrames] = useState<Frame[]>([]);
	const client = useRef<WarblerClient | null>(null);
	const counter = useRef(0);
	const app = currentAppId();

	const push = (f: Omit<Frame, "n" | "at">) =>
		setFrames((prev) => [{ ...f, n: ++counter.current, at: Date.now() }, ...prev].slice(0, 200));

	const disconnect = () => {
		client.current?.close();
		client.current = null;
		setState("disconnected");
	};

	useEffect(() => disconnect, []);
	// Another app, or signed out: the device of the old app goes away.
	useEffect(() => disconnect, [app]);

	const connect = () => {
		disconnect();
		const userId = user.trim();
		const c = new WarblerClient({
			url: location.origin,
			deviceId: device.trim() || "console-live",
			platform: "web",
			getToken: async () =>
				(await api<{ token: string }>("POST", `/v1/users/${enc(userId)}/tokens`, { ttl_seconds: 3600 })).token,
		});
		c.on("message", (m) => push({ kind: "message", text: m.content.title ?? m.content.body ?? m.id, detail: m }));
		c.on("recall", (r) => push({ kind: "recall", text: r.id }));
		c.on("gap", (g) => push({ kind: "gap", text: `${g.from}–${g.to}` }));
		c.on("welcome", (w) => push({ kind: "welcome", text: `${w.user_id} / ${w.device_id}` }));
		c.on("state", (s) => setState(s.state));
		c.on("error", (e) => push({ kind: "error", text: e.message }));
		client.current = c;
	};

	return (
		<aside id="live" class={open ? "live open" : "live"} aria-label={t("live.title")} hidden={!open}>
			<div class="live-head">
				<h2>{t("live.title")}</h2>
				<button type="button" class="secondary" onClick={onClose}>
					{t("common.close")}
				</button>
			</div>
			{app ? (
				<>
					<p class="muted">{t("live.intro")}</p>
					<form
						onSubmit={(e) => {
							e.preventDefault();
							connect();
						}}
					>
						<Field label="live.user" value={user} onValue={setUser} required />
						<Field label="live.device" value={device} onValue={setDevice} required />
						<div class="row">
							<button type="submit" class="primary">
								{t("live.connect")}
							</button>
							<button type="button" class="secondary" onClick={disconnect} disabled={state === "disconnected"}>
								{t("live.disconnect")}
							</button>
						</div>
					</form>
					<p aria-live="polite" data-testid="live-state" data-state={state}>
						{t("live.state", { state: t(`live.state.${state as "connected"}`) })}
					</p>
					<ol class="frames" data-testid="live-frames" aria-live="polite">
						{frames.map((f) => (
							<li key={f.n} data-kind={f.kind}>
								<span class={`badge ${f.kind}`}>{t(`live.kind.${f.kind}`)}</span> <time>{formatDate(f.at)}</time>
								<div>{f.text}</div>
							</li>
						))}
					</ol>
					{frames.length === 0 ? <p class="muted">{t("live.none")}</p> : null}
				</>
			) : (
				<p class="muted">{t("apps.pickFirst")}</p>
			)}
		</aside>
	);
}
