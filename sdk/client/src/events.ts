/** A small typed event emitter. `E` maps each event name to its payload. */
export type Listener<T> = (payload: T) => unknown;

export class Emitter<E extends { [K in keyof E]: unknown }> {
	private handlers = new Map<keyof E, Set<Listener<never>>>();

	/** Adds a listener; returns a function that removes it. */
	on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
		let set = this.handlers.get(event);
		if (!set) {
			set = new Set();
			this.handlers.set(event, set);
		}
		set.add(listener as Listener<never>);
		return () => this.off(event, listener);
	}

	off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
		this.handlers.get(event)?.delete(listener as Listener<never>);
	}

	protected listeners<K extends keyof E>(event: K): Listener<E[K]>[] {
		return [...(this.handlers.get(event) ?? [])] as Listener<E[K]>[];
	}

	/** Calls every listener; a listener that throws does not stop the others. Returns the errors. */
	protected emit<K extends keyof E>(event: K, payload: E[K]): unknown[] {
		const errors: unknown[] = [];
		for (const listener of this.listeners(event)) {
			try {
				const result = listener(payload);
				if (result instanceof Promise) result.catch(() => {});
			} catch (err) {
				errors.push(err);
			}
		}
		return errors;
	}

	/** Calls every listener and waits for all of them; rejects with the first failure. */
	protected async emitAndWait<K extends keyof E>(event: K, payload: E[K], extra?: Listener<E[K]>): Promise<void> {
		const all = extra ? [extra, ...this.listeners(event)] : this.listeners(event);
		const results = await Promise.allSettled(all.map(async (listener) => listener(payload)));
		const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
		if (failed) throw failed.reason;
	}
}
