import type { RecipientView } from "../../protocol/message.js";
import { AppError } from "../errors.js";
import type { InboxRecipientView } from "../inbox/types.js";
import { ledgerFor } from "../objects/ledger.js";
import { allShards, usersByShard } from "../objects/shard.js";
import { mapBounded } from "../util/bounded.js";
import type { MessageRow } from "./view.js";

/**
 * Where a listing of recipients stopped: an offset into a `users` audience (`u.N`), a shard and the
 * last user number served in it (`s.I.N`), or an offset into the recipients the fan-out could not
 * reach (`f.N`), which come after every shard.
 */
type Position = { kind: "u"; offset: number } | { kind: "s"; shard: number; after: number } | { kind: "f"; offset: number };

export interface RecipientsPage {
	recipients: RecipientView[];
	next: string | null;
}

/**
 * One page of a message's recipients with their status and vendor outcomes: a `users` message in
 * the order of its audience (one call per shard per page), a broadcast shard by shard, then the
 * recipients whose shard could not be reached. Each page also costs one call to the ledger (vendor
 * outcomes), and one more when it reaches recipients the fan-out could not reach.
 */
export async function listRecipients(
	env: Env,
	row: MessageRow,
	cursor: string | undefined,
	limit: number,
): Promise<RecipientsPage> {
	const ledger = ledgerFor(env, row.appId, row.id);
	const direct = "users" in row.audience ? row.audience.users : undefined;
	const at = parse(cursor) ?? (direct ? { kind: "u", offset: 0 } : { kind: "s", shard: 0, after: -1 });
	const views: (InboxRecipientView | RecipientView)[] = [];
	let next: Position | null = null;

	if (at.kind === "u") {
		if (!direct) throw badCursor();
		const users = direct.slice(at.offset, at.offset + limit);
		const groups = await usersByShard(env, row.appId, users);
		const found = new Map<string, InboxRecipientView>();
		const perShard = await mapBounded(groups, 16, (g) =>
			g.stub.recipientsOf({ appId: row.appId, shard: g.name }, row.id, g.users),
		);
		for (const v of perShard.flat()) found.set(v.user_id, v);
		const missing = users.filter((u) => !found.has(u));
		const failed = new Set(missing.length ? await ledger.failedAmong(missing) : []);
		for (const u of users) {
			const v = found.get(u);
			if (v) views.push(v);
			else if (failed.has(u)) views.push({ user_id: u, status: "failed", devices: [] });
		}
		if (at.offset + limit < direct.length) next = { kind: "u", offset: at.offset + limit };
	} else {
		if (direct) throw badCursor();
		let pos: Position = at;
		const shards = await allShards(env, row.appId);
		while (views.length < limit && pos.kind === "s" && pos.shard < shards.length) {
			const s: (typeof shards)[number] = shards[pos.shard]!;
			const page: { views: InboxRecipientView[]; last: number | null } = await s.stub.recipientsPage(
				{ appId: row.appId, shard: s.name },
				row.id,
				pos.after,
				limit - views.length,
			);
			views.push(...page.views);
			pos =
				page.last === null ? { kind: "s", shard: pos.shard + 1, after: -1 } : { kind: "s", shard: pos.shard, after: page.last };
		}
		// After the last shard: the recipients the fan-out could not reach.
		if (pos.kind === "s" && pos.shard >= shards.length) pos = { kind: "f", offset: 0 };
		if (pos.kind === "f" && views.length < limit) {
			const room = limit - views.length;
			const failed = await ledger.failedPage(pos.offset, room + 1);
			for (const f of failed.slice(0, room)) views.push({ user_id: f.user_id, status: "failed", devices: [] });
			next = failed.length > room ? { kind: "f", offset: pos.offset + room } : null;
		} else {
			next = pos;
		}
	}

	const devices = await ledger.vendorOutcomesOf(views.map((v) => v.user_id));
	return {
		recipients: views.map((v) => ({ ...v, devices: devices[v.user_id] ?? [] })),
		next: next ? format(next) : null,
	};
}

function format(p: Position): string {
	return p.kind === "s" ? `s.${p.shard}.${p.after}` : `${p.kind}.${p.offset}`;
}

function parse(cursor: string | undefined): Position | undefined {
	if (cursor === undefined) return undefined;
	const m = /^(?:([uf])\.(\d{1,9})|s\.(\d{1,6})\.(-1|\d{1,9}))$/.exec(cursor);
	if (!m) throw badCursor();
	if (m[1] === "u" || m[1] === "f") return { kind: m[1], offset: Number(m[2]) };
	return { kind: "s", shard: Number(m[3]), after: Number(m[4]) };
}

function badCursor() {
	return new AppError("invalid_request", "The cursor is not one this API returned for this message.", [
		{ path: "cursor", message: "invalid cursor" },
	]);
}
