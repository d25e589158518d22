import { useState } from "preact/hooks";
import { api, enc } from "../api.js";
import { formatNumber, t } from "../i18n/index.js";
import { navigate } from "../store.js";
import { Card, ErrorBox, Loading, Page, useAsync } from "../ui/common.js";

export function TagsPage({ rest }: { rest: string[] }) {
	const [cursor, setCursor] = useState<string | undefined>();
	const tags = useAsync(
		() =>
			api<{ tags: { name: string; users: number }[]; next_cursor: string | null }>(
				"GET",
				`/v1/tags?limit=200${cursor ? `&cursor=${enc(cursor)}` : ""}`,
			),
		[cursor],
	);
	return (
		<Page title="nav.tags">
			<Loading when={tags.loading} />
			<ErrorBox error={tags.error} />
			{tags.data ? (
				tags.data.tags.length === 0 ? (
					<p class="muted">{t("tags.none")}</p>
				) : (
					<table>
						<thead>
							<tr>
								<th scope="col">{t("tags.name")}</th>
								<th scope="col">{t("tags.members")}</th>
							</tr>
						</thead>
						<tbody>
							{tags.data.tags.map((tg) => (
								<tr key={tg.name}>
									<td>
										<a
											href={`/console/tags/${enc(tg.name)}`}
											onClick={(e) => {
												e.preventDefault();
												navigate(`/tags/${enc(tg.name)}`);
											}}
										>
											{tg.name}
										</a>
									</td>
									<td>{formatNumber(tg.users)}</td>
								</tr>
							))}
						</tbody>
					</table>
				)
			) : null}
			{tags.data?.next_cursor ? (
				<button type="button" class="secondary" onClick={() => setCursor(tags.data?.next_cursor ?? undefined)}>
					{t("common.next")}
				</button>
			) : null}
			{rest[0] ? <TagMembers tag={rest[0]} /> : null}
		</Page>
	);
}

function TagMembers({ tag }: { tag: string }) {
	const members = useAsync(() => api<{ users: string[] }>("GET", `/v1/tags/${enc(tag)}/users?limit=200`), [tag]);
	return (
		<Card title="tags.membersOf">
			<p>
				<strong>{tag}</strong>
			</p>
			<Loading when={members.loading} />
			<ErrorBox error={members.error} />
			<ul class="chips">
				{members.data?.users.map((u) => (
					<li key={u}>
						<a
							href={`/console/users/${enc(u)}`}
							onClick={(e) => {
								e.preventDefault();
								navigate(`/users/${enc(u)}`);
							}}
						>
							{u}
						</a>
					</li>
				))}
			</ul>
		</Card>
	);
}
