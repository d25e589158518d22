// The static assets binding (wrangler.toml [assets]) for the local runtime, served from the files
// themselves. Miniflare's own assets support puts a router and an asset Worker in front of every
// request, which cost about 30 % of a WebSocket connect and 0.6 ms of CPU per API call here (measured
// with the benchmark's reconnect storm: 3.8 s with it removed vs 5.0–5.5 s for 3,000 reconnects).
// Only the console's few files are assets, so locally they are reached through the binding the Worker
// already uses (env.ASSETS), with the headers the build's `_headers` file gives them.
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { Headers, Response } from "miniflare";

const TYPES = {
	".html": "text/html; charset=utf-8",
	".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
	".ico": "image/x-icon",
	".json": "application/json",
	".woff2": "font/woff2",
	".txt": "text/plain; charset=utf-8",
};

/** `_headers` rules (Cloudflare's format: a path pattern, then indented `Name: value` lines). */
async function headerRules(dir) {
	const text = await readFile(join(dir, "_headers"), "utf8").catch(() => "");
	const rules = [];
	for (const line of text.split("\n")) {
		if (!line.trim() || line.trim().startsWith("#")) continue;
		if (!/^\s/.test(line)) {
			const pattern = new RegExp(
				`^${line
					.trim()
					.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
					.replace(/\*/g, ".*")}$`,
			);
			rules.push({ pattern, headers: [] });
		} else if (rules.length) {
			const i = line.indexOf(":");
			if (i > 0) rules.at(-1).headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
		}
	}
	return rules;
}

/** A Miniflare service binding that answers like the assets binding: the file, or a plain 404. */
export function staticFiles(dir) {
	const root = normalize(dir) + sep;
	const rules = headerRules(dir);
	return async (request) => {
		const path = decodeURIComponent(new URL(request.url).pathname);
		const file = normalize(join(root, path));
		const config = path === "/_headers" || path === "/_redirects";
		if (config || !file.startsWith(root) || (request.method !== "GET" && request.method !== "HEAD")) {
			return new Response("Not Found", { status: 404 });
		}
		let body;
		try {
			body = await readFile(file);
		} catch {
			return new Response("Not Found", { status: 404 });
		}
		const headers = new Headers({ "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
		for (const rule of await rules) if (rule.pattern.test(path)) for (const [k, v] of rule.headers) headers.set(k, v);
		return new Response(request.method === "HEAD" ? null : body, { headers });
	};
}
