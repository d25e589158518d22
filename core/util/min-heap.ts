/** A binary min-heap by a numeric key: the shard's timers (expiries, releases, fallbacks) without scanning. */
export class MinHeap<T> {
	private readonly items: { at: number; value: T }[] = [];

	get size(): number {
		return this.items.length;
	}

	/** The earliest key, or +Infinity when empty. */
	peek(): number {
		return this.items[0]?.at ?? Number.POSITIVE_INFINITY;
	}

	push(at: number, value: T): void {
		const a = this.items;
		a.push({ at, value });
		let i = a.length - 1;
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (a[p]!.at <= a[i]!.at) break;
			[a[p], a[i]] = [a[i]!, a[p]!];
			i = p;
		}
	}

	/** Removes and returns every value whose key is at most `until`, earliest first. */
	popUntil(until: number): T[] {
		const out: T[] = [];
		while (this.items.length > 0 && this.items[0]!.at <= until) out.push(this.pop()!);
		return out;
	}

	private pop(): T | undefined {
		const a = this.items;
		const top = a[0];
		const last = a.pop();
		if (a.length > 0 && last) {
			a[0] = last;
			let i = 0;
			for (;;) {
				const l = 2 * i + 1;
				const r = l + 1;
				let m = i;
				if (l < a.length && a[l]!.at < a[m]!.at) m = l;
				if (r < a.length && a[r]!.at < a[m]!.at) m = r;
				if (m === i) break;
				[a[m], a[i]] = [a[i]!, a[m]!];
				i = m;
			}
		}
		return top?.value;
	}
}
