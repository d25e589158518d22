/**
 * The console's first page stays small: every script its index.html loads (and what those import
 * statically), gzip-compressed, within 250 KB. Reads the build that `npm test` makes before the unit
 * tests (npm run build:console; vitest.config.ts builds it when absent).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "dist-console");
const BUDGET = 250 * 1024;

/** The scripts the page loads, following static imports between chunks. */
function firstPageScripts(): string[] {
	const html = readFileSync(join(ROOT, "console", "index.html"), "utf8");
	const queue = [...html.matchAll(/<script[^>]+src="(\/console\/[^"]+\.js)"/g)].map((m) => m[1] as string);
	const seen = new Set<string>();
	while (queue.length) {
		const url = queue.shift() as string;
		if (seen.has(url)) continue;
		seen.add(url);
		const code = readFileSync(join(ROOT, url), "utf8");
		for (const m of code.matchAll(/(?:^|[;\s])import\s*(?:[^"'()]*?from\s*)?["'](\.\/[^"']+\.js)["']/g)) {
			queue.push(new URL(m[1] as string, `http://x${url}`).pathname);
		}
	}
	return [...seen];
}

describe("the console's first page", () => {
	it("loads at most 250 KB of compressed JavaScript", () => {
		const scripts = firstPageScripts();
		expect(scripts.length).toBeGreaterThan(0);
		const bytes = scripts.reduce((n, url) => n + gzipSync(readFileSync(join(ROOT, url)), { level: 9 }).length, 0);
		console.log(`console first page: ${scripts.length} script(s), ${(bytes / 1024).toFixed(1)} KB gzip`);
		expect(bytes).toBeLessThanOrEqual(BUDGET);
	});
});
