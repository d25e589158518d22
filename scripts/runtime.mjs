// The local Worker runtime started by scripts/stack.mjs: the `wrangler deploy --dry-run` bundle of
// scripts/local-entry.mjs on Miniflare, with the bindings, Durable Objects, Queues, cron triggers, module
// rules and .dev.vars of wrangler.toml (wrangler's own reading of it), persisted where `wrangler dev
// --persist-to` persists (<persistTo>/v3), so `wrangler d1 migrations apply --local --persist-to` applies.
//
// Why not `wrangler dev`: it runs two workerd processes, a proxy in front of the user Worker, so every
// WebSocket client is two TCP connections (client→proxy, proxy→Worker). workerd keeps two descriptors per
// connection (the socket and a dup(2) that watches for hangup), so wrangler dev's proxy holds ~4 open files
// per client and runs out at ~4,800 clients under a 20,000 open-file limit. Here a client is one
// connection: ~2 open files per client in the one workerd process.
//
// Run as a child process (its own process group, with workerd in it); configured by WARBLER_RUNTIME (JSON).
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { staticFiles } from "./static-files.mjs";

const { root, port, persistDir, bundleDir, entry, vars } = JSON.parse(process.env.WARBLER_RUNTIME ?? "{}");

/** A file-name glob (`*`, `?`) as a RegExp; rules name paths, an attached module keeps only its base name. */
const globRegExp = (glob) =>
	new RegExp(
		`^${basename(glob)
			.replace(/[.+^${}()|[\]\\]/g, "\\$&")
			.replace(/\*/g, "[^/]*")
			.replace(/\?/g, "[^/]")}$`,
	);

/** The modules of the bundle: the entry, and what [[rules]] (and wrangler's default rules) made of the rest. */
function modulesOf(dir, entry, rules) {
	const typeOf = (file) => {
		const name = file.replace(/^[0-9a-f]{40}-/, ""); // wrangler names an attached module <sha1>-<basename>
		for (const rule of rules) {
			if (rule.include.some((glob) => globRegExp(glob).test(name))) return rule.type;
		}
		return /\.m?js$/.test(name) ? "ESModule" : "Text";
	};
	return [
		{ type: "ESModule", path: join(dir, entry) },
		...readdirSync(dir)
			.filter((f) => f !== entry && !f.endsWith(".map") && f !== "README.md")
			.map((f) => ({ type: typeOf(f), path: join(dir, f) })),
	];
}

const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
const { modulesRules = [], bindings = {}, rootPath: _rootPath, assets, serviceBindings = {}, ...rest } = workerOptions;
// The console's static assets through their binding only, not a router before every request (static-files.mjs).
const assetBinding = assets ? { [assets.binding]: staticFiles(assets.directory) } : {};
const mf = new Miniflare(
	convertV4MiniflareOptions({
		...rest,
		name: "warbler", // Durable Object storage is keyed by script name, as under wrangler dev
		host: "127.0.0.1",
		port,
		resourcePersistencePath: join(persistDir, "v3"),
		resourceTmpPath: join(root, ".wrangler", "tmp"),
		modules: modulesOf(bundleDir, entry, modulesRules),
		modulesRoot: bundleDir,
		bindings: { ...bindings, ...vars },
		serviceBindings: { ...serviceBindings, ...assetBinding },
		// Profiling only (bench/vendor-dispatch.mjs --profile): V8's inspector on workerd.
		...(process.env.WARBLER_INSPECTOR_PORT ? { inspectorPort: Number(process.env.WARBLER_INSPECTOR_PORT) } : {}),
	}),
);

let stopping;
const stop = () => {
	stopping ??= mf.dispose().finally(() => process.exit(0));
	return stopping;
};
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, stop);
const url = await mf.ready;
console.log(`warbler runtime ready on ${url.origin} (Miniflare, pid ${process.pid})`);
