/**
 * Every relative link in the repository's markdown resolves to a file or folder inside the
 * repository (and, for `file.md#anchor`, to a heading of that file): the docs must stand alone.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Not the repository's own text: dependencies, build output, local state. */
const SKIP_DIRS = new Set(["node_modules", "dist", "coverage", ".git", ".wrangler", ".tmp"]);

function markdownFiles(dir: string): string[] {
	const out: string[] = [];
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		if (entry.isDirectory()) {
			if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith(".")) out.push(...markdownFiles(join(dir, entry.name)));
		} else if (entry.name.endsWith(".md")) out.push(join(dir, entry.name));
	}
	return out;
}

/** The text without fenced code blocks and inline code spans, where brackets are not links. */
function prose(markdown: string): string {
	return markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, "").replace(/`[^`\n]*`/g, "");
}

/** Targets of inline links and images `[text](target "title")` and reference definitions `[x]: target`. */
function linkTargets(markdown: string): string[] {
	const text = prose(markdown);
	const targets: string[] = [];
	for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
		targets.push((m[1] as string).replace(/^<|>$/g, ""));
	}
	for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*(\S+)/gm)) targets.push(m[1] as string);
	return targets;
}

/** GitHub's anchors for a markdown file's headings (lower case, punctuation dropped, spaces → "-"). */
function anchors(markdown: string): Set<string> {
	const seen = new Map<string, number>();
	const out = new Set<string>();
	// Code spans in a heading keep their text in GitHub's anchor ("scope `read`" → "scope-read").
	const headings = markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, "");
	for (const m of headings.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
		const base = (m[1] as string)
			.toLowerCase()
			.replace(/[^\p{L}\p{N}\s_-]/gu, "")
			.replace(/\s/g, "-");
		const n = seen.get(base) ?? 0;
		seen.set(base, n + 1);
		out.add(n === 0 ? base : `${base}-${n}`);
	}
	return out;
}

/** Why a link from `file` to `target` does not resolve inside the repository, or null when it does. */
function problem(file: string, target: string): string | null {
	if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) return null; // another origin, mailto:
	const [pathPart = "", anchor] = target.split("#", 2) as [string, string | undefined];
	const path = decodeURIComponent(pathPart.split("?")[0] as string);
	const resolved = path === "" ? file : path.startsWith("/") ? join(ROOT, path) : resolve(dirname(file), path);
	const inside = relative(ROOT, resolved);
	if (inside.startsWith("..") || inside.startsWith(sep)) return "points outside the repository";
	if (!existsSync(resolved)) return "no such file";
	if (anchor && resolved.endsWith(".md") && statSync(resolved).isFile()) {
		if (!anchors(readFileSync(resolved, "utf8")).has(anchor.toLowerCase())) return `no heading #${anchor}`;
	}
	return null;
}

const files = markdownFiles(ROOT);

describe("markdown links", () => {
	it("finds the repository's markdown and its links", () => {
		const names = files.map((f) => relative(ROOT, f));
		for (const expected of ["README.md", "AGENTS.md", "BENCHMARKS.md", "docs/api.md", "docs/architecture.md", "sim/README.md"]) {
			expect(names).toContain(expected.split("/").join(sep));
		}
		expect(names.some((n) => n.split(sep).includes("node_modules"))).toBe(false);
		expect(linkTargets(readFileSync(join(ROOT, "README.md"), "utf8"))).toContain("docs/api.md");
	});

	it("every relative link resolves to a file or folder inside the repository", () => {
		const broken: string[] = [];
		for (const file of files) {
			for (const target of linkTargets(readFileSync(file, "utf8"))) {
				const why = problem(file, target);
				if (why) broken.push(`${relative(ROOT, file)}: ${target} (${why})`);
			}
		}
		expect(broken).toEqual([]);
	});

	it("the checker itself catches what it should", () => {
		const readme = join(ROOT, "README.md");
		expect(problem(readme, "../shared/api-v1.md")).toBe("points outside the repository");
		expect(problem(readme, "docs/missing.md")).toBe("no such file");
		expect(problem(readme, "docs/api.md#no-such-heading")).toBe("no heading #no-such-heading");
		expect(problem(readme, "docs/api.md#scopes")).toBeNull();
		expect(problem(readme, "https://example.com/x.md")).toBeNull();
		expect(linkTargets('see `[a](nowhere.md)` and\n```\n[b](nowhere.md)\n```\n[c](here.md "t")')).toEqual(["here.md"]);
	});
});
