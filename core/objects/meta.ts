/**
 * A Durable Object's small key-value settings (its owner, counters, status) in a `meta` table of
 * its SQLite storage. Every object with SQL storage keeps them the same way.
 */
export const META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;";

export class MetaTable {
	constructor(private readonly sql: SqlStorage) {}

	get(k: string): string | undefined {
		return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v;
	}

	set(k: string, v: string): void {
		this.sql.exec("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v);
	}
}
