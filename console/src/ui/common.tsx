import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError } from "../api.js";
import { type MessageKey, t } from "../i18n/index.js";

/** Loads data for a page; `reload` runs it again. Errors are kept, not thrown. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]) {
	const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
	const seq = useRef(0);
	const reload = useCallback(() => {
		const mine = ++seq.current;
		setState((s) => ({ ...s, loading: true }));
		load().then(
			(data) => mine === seq.current && setState({ data, loading: false }),
			(error) => mine === seq.current && setState({ error, loading: false }),
		);
	}, deps);
	useEffect(reload, [reload]);
	return { ...state, reload };
}

export function errorText(e: unknown): string {
	if (e instanceof ApiError) return `${t("error.prefix")} ${e.status} ${e.code}: ${e.message}`;
	return `${t("error.prefix")} ${e instanceof Error ? e.message : String(e)}`;
}

export function ErrorBox({ error }: { error: unknown }) {
	if (!error) return null;
	if (error instanceof ApiError && error.unavailable) return <NotAvailable />;
	return (
		<p class="error" role="alert">
			{errorText(error)}
		</p>
	);
}

export function NotAvailable() {
	return <p class="muted">{t("common.notAvailable")}</p>;
}

export function Loading({ when }: { when: boolean }) {
	return when ? (
		<p class="muted" aria-live="polite">
			{t("common.loading")}
		</p>
	) : null;
}

export function Page({ title, children }: { title: MessageKey; children: ComponentChildren }) {
	const ref = useRef<HTMLHeadingElement>(null);
	// Focus moves to the new page's heading, so keyboard and screen-reader users land on it.
	// After the frame, so a navigation that also hides the menu (narrow screens) does not take it back.
	useEffect(() => {
		const frame = requestAnimationFrame(() => ref.current?.focus());
		return () => cancelAnimationFrame(frame);
	}, [title]);
	return (
		<section class="page" aria-labelledby="page-title">
			<h1 id="page-title" tabIndex={-1} ref={ref}>
				{t(title)}
			</h1>
			{children}
		</section>
	);
}

export function Card({ title, children }: { title: MessageKey; children: ComponentChildren }) {
	const id = useId();
	return (
		<section class="card" aria-labelledby={id}>
			<h2 id={id}>{t(title)}</h2>
			{children}
		</section>
	);
}

interface InputProps {
	label: MessageKey;
	value: string;
	onValue: (v: string) => void;
	hint?: MessageKey;
	type?: "text" | "password" | "number" | "url" | "datetime-local" | "time" | "month";
	min?: number;
	max?: number;
	step?: number;
	maxLength?: number;
	required?: boolean;
	placeholder?: string;
	autocomplete?: string;
}

/** A labelled input; `rest` (type, min, max, …) goes to the element as given (preact types inputs per `type`). */
export function Field({ label, value, onValue, hint, ...rest }: InputProps) {
	const id = useId();
	return (
		<div class="field">
			<label for={id}>{t(label)}</label>
			<input
				id={id}
				value={value}
				onInput={(e) => onValue((e.target as HTMLInputElement).value)}
				{...(rest as Record<never, never>)}
			/>
			{hint && <small class="muted">{t(hint)}</small>}
		</div>
	);
}

export function TextArea({
	label,
	value,
	onValue,
	rows = 4,
	hint,
}: {
	label: MessageKey;
	value: string;
	onValue: (v: string) => void;
	rows?: number;
	hint?: MessageKey;
}) {
	const id = useId();
	return (
		<div class="field">
			<label for={id}>{t(label)}</label>
			<textarea id={id} rows={rows} value={value} onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)} />
			{hint && <small class="muted">{t(hint)}</small>}
		</div>
	);
}

export function Select<V extends string>({
	label,
	value,
	onValue,
	options,
}: {
	label: MessageKey;
	value: V;
	onValue: (v: V) => void;
	options: { value: V; label: string }[];
}) {
	const id = useId();
	return (
		<div class="field">
			<label for={id}>{t(label)}</label>
			<select id={id} value={value} onChange={(e) => onValue((e.target as HTMLSelectElement).value as V)}>
				{options.map((o) => (
					<option key={o.value} value={o.value}>
						{o.label}
					</option>
				))}
			</select>
		</div>
	);
}

/** A button that runs an async action, shows it is busy, and reports a failure next to itself. */
export function Action({
	label,
	run,
	kind = "primary",
	disabled,
}: {
	label: MessageKey;
	run: () => Promise<unknown>;
	kind?: "primary" | "secondary" | "danger";
	disabled?: boolean;
}) {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<unknown>(null);
	return (
		<span class="action">
			<button
				type="button"
				class={kind}
				disabled={busy || disabled}
				aria-busy={busy}
				onClick={async () => {
					setBusy(true);
					setError(null);
					try {
						await run();
					} catch (e) {
						setError(e);
					} finally {
						setBusy(false);
					}
				}}
			>
				{t(label)}
			</button>
			{error ? (
				<span class="error" role="alert">
					{errorText(error)}
				</span>
			) : null}
		</span>
	);
}

export function Dash({ value }: { value: unknown }) {
	return <>{value === undefined || value === null || value === "" ? "—" : String(value)}</>;
}

/** A JSON value, pretty-printed. */
export function Json({ value }: { value: unknown }) {
	return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** Parses JSON typed into a form; undefined for an empty field, throws a readable error otherwise. */
export function parseJsonField(text: string, label: MessageKey): unknown {
	if (text.trim() === "") return undefined;
	try {
		return JSON.parse(text);
	} catch {
		throw new Error(t("common.badJson", { field: t(label) }));
	}
}
