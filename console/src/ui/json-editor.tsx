import { useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatDate, type MessageKey, t } from "../i18n/index.js";
import { navigate } from "../store.js";
import { Card, Dash, ErrorBox, Loading, parseJsonField, TextArea, useAsync } from "./common.js";

interface Item {
	id: string;
	name?: string;
	status?: string;
	enabled?: boolean;
	updated_at?: string;
}

/**
 * A list of an API collection with a JSON editor for one item (create or replace), used by the
 * templates and automations pages: the API's own validation reports what is wrong, field by field.
 */
export function CollectionEditor({
	collection,
	page,
	id,
	example,
	method = "PATCH",
	strip = ["id", "created_at", "updated_at", "variables"],
	preview,
}: {
	collection: "templates" | "automations";
	page: string;
	id?: string;
	example: unknown;
	method?: "PATCH" | "PUT";
	strip?: string[];
	preview?: (value: unknown) => preact.JSX.Element | null;
}) {
	const items = useAsync(() => api<Record<string, Item[]>>("GET", `/v1/${collection}?limit=200`), [collection]);
	const current = useAsync(
		async () => (id && id !== "new" ? api<Record<string, unknown>>("GET", `/v1/${collection}/${enc(id)}`) : undefined),
		[id],
	);
	const list = items.data?.[collection] ?? [];
	return (
		<>
			<Loading when={items.loading} />
			<ErrorBox error={items.error} />
			<div class="row">
				<button type="button" class="primary" onClick={() => navigate(`/${page}/new`)}>
					{t("common.new")}
				</button>
			</div>
			{list.length === 0 && !items.loading ? <p class="muted">{t("common.empty")}</p> : null}
			{list.length ? (
				<table>
					<thead>
						<tr>
							<th scope="col">{t("common.name")}</th>
							<th scope="col">{t("common.state")}</th>
							<th scope="col">{t("common.updated")}</th>
						</tr>
					</thead>
					<tbody>
						{list.map((it) => (
							<tr key={it.id}>
								<td>
									<a
										href={`/console/${page}/${enc(it.id)}`}
										onClick={(e) => {
											e.preventDefault();
											navigate(`/${page}/${enc(it.id)}`);
										}}
									>
										<Dash value={it.name ?? it.id} />
									</a>
								</td>
								<td>{it.enabled === undefined ? "—" : t(it.enabled ? "common.enabled" : "common.disabled")}</td>
								<td>{formatDate(it.updated_at)}</td>
							</tr>
						))}
					</tbody>
				</table>
			) : null}
			{id ? (
				// Only the data of this id: right after a navigation the previous id's data is still there.
				id !== "new" && (current.loading || (current.data as { id?: string } | undefined)?.id !== id) ? (
					<Loading when={!current.error} />
				) : (
					<Editor
						key={id}
						collection={collection}
						id={id === "new" ? undefined : id}
						initial={current.data ? withoutKeys(current.data, strip) : example}
						method={method}
						preview={preview}
						onSaved={(saved) => {
							items.reload();
							navigate(`/${page}/${enc(saved)}`);
						}}
					/>
				)
			) : null}
			<ErrorBox error={current.error} />
		</>
	);
}

function withoutKeys(o: Record<string, unknown>, keys: string[]) {
	return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

function Editor({
	collection,
	id,
	initial,
	method,
	preview,
	onSaved,
}: {
	collection: string;
	id?: string;
	initial: unknown;
	method: string;
	preview?: (value: unknown) => preact.JSX.Element | null;
	onSaved: (id: string) => void;
}) {
	const [text, setText] = useState(JSON.stringify(initial, null, 2));
	const [error, setError] = useState<unknown>(null);
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return (
		<Card title={id ? "common.edit" : "common.new"}>
			<form
				onSubmit={async (e) => {
					e.preventDefault();
					setError(null);
					try {
						const body = parseJsonField(text, "common.definition");
						const saved = id
							? await api<{ id: string }>(method, `/v1/${collection}/${enc(id)}`, body)
							: await api<{ id: string }>("POST", `/v1/${collection}`, body);
						onSaved(saved.id);
					} catch (err) {
						setError(err);
					}
				}}
			>
				<TextArea label={"common.definition" as MessageKey} value={text} onValue={setText} rows={14} />
				<div class="row">
					<button type="submit" class="primary">
						{t("common.save")}
					</button>
					{id ? (
						<button
							type="button"
							class="danger"
							onClick={async () => {
								if (!confirm(t("common.deleteConfirm"))) return;
								try {
									await api("DELETE", `/v1/${collection}/${enc(id)}`);
									onSaved("");
								} catch (err) {
									setError(err);
								}
							}}
						>
							{t("common.delete")}
						</button>
					) : null}
				</div>
				<ErrorBox error={error} />
			</form>
			{preview && parsed !== undefined ? preview(parsed) : null}
		</Card>
	);
}
