import type { WarblerStorage } from "./storage.js";

interface Persisted {
	v: 1;
	last_seq: number;
	ids: string[];
}

/**
 * What survives a restart: the resume position (`last_seq`, sent in `hello`) and a bounded set of the
 * most recent message ids, so a redelivered message is recognised even by a fresh process. Both
 * live under one key, written together, so they never disagree.
 */
export class ResumeState {
	lastSeq = 0;
	private readonly ids = new Set<string>();
	private pending: Promise<void> | null = null;
	private dirty = false;

	constructor(
		private readonly storage: WarblerStorage,
		readonly key: string,
		private readonly maxIds: number,
	) {}

	async load(): Promise<void> {
		const raw = await this.storage.get(this.key);
		if (!raw) return;
		const data = JSON.parse(raw) as Partial<Persisted>;
		if (typeof data.last_seq === "number" && Number.isSafeInteger(data.last_seq) && data.last_seq >= 0) {
			this.lastSeq = data.last_seq;
		}
		if (Array.isArray(data.ids)) {
			for (const id of data.ids.slice(-this.maxIds)) if (typeof id === "string") this.ids.add(id);
		}
	}

	has(id: string): boolean {
		return this.ids.has(id);
	}

	/** Remembers an id; the oldest is forgotten past the bound (a Set iterates in insertion order). */
	remember(id: string): void {
		this.ids.delete(id);
		this.ids.add(id);
		while (this.ids.size > this.maxIds) {
			const oldest = this.ids.values().next().value as string;
			this.ids.delete(oldest);
		}
	}

	get size(): number {
		return this.ids.size;
	}

	/**
	 * Writes the current state. Calls made while a write is in flight share one follow-up write,
	 * so a burst of messages costs a few writes, not one per message; each caller's promise resolves
	 * once a write that includes its change has finished.
	 */
	flush(): Promise<void> {
		this.dirty = true;
		if (!this.pending) this.pending = this.writeLoop();
		return this.pending;
	}

	private async writeLoop(): Promise<void> {
		try {
			while (this.dirty) {
				this.dirty = false;
				const data: Persisted = { v: 1, last_seq: this.lastSeq, ids: [...this.ids] };
				await this.storage.set(this.key, JSON.stringify(data));
			}
		} finally {
			this.pending = null;
		}
	}
}
