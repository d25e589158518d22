import { timeOfId } from "../auth/crypto.js";
import { emptyCounts, type ShardCounts } from "./api.js";
import type { EntryBody } from "./model.js";

/**
 * Statistics as a shard keeps them: counts of its recipients per hour in which their message was
 * accepted, and per category. Hours of live entries are counted when asked, from the same targets
 * that a message's own counts come from; an entry that retires folds its final counts into one
 * row per (hour, category) first, so history outlives receipts without a write per recipient.
 */
export interface HourStats {
	/** Start of the hour (epoch ms) in which the message was accepted. */
	hour: number;
	/** The message's `options.category`, "" when it had none. */
	cat: string;
	counts: ShardCounts;
}

const HOUR_MS = 3600_000;

export function hourOf(ms: number): number {
	return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** Adds up counts per (hour, category). */
export class HourTally {
	private readonly rows = new Map<string, HourStats>();

	/** The counts of an entry's hour and category, to count its targets into. */
	of(entry: EntryBody): ShardCounts {
		return this.at(hourOf(timeOfId(entry.m)), entry.cat ?? "");
	}

	at(hour: number, cat: string): ShardCounts {
		const key = `${hour}|${cat}`;
		let row = this.rows.get(key);
		if (!row) {
			row = { hour, cat, counts: emptyCounts() };
			this.rows.set(key, row);
		}
		return row.counts;
	}

	add(row: HourStats): void {
		addCounts(this.at(row.hour, row.cat), row.counts);
	}

	list(): HourStats[] {
		return [...this.rows.values()];
	}
}

export function addCounts(into: ShardCounts, from: ShardCounts): void {
	for (const k of Object.keys(into) as (keyof ShardCounts)[]) into[k] += from[k] ?? 0;
}
