import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { CONSOLE_CSP } from "../workers/routes/console-csp.js";

/**
 * Headers for the files the assets layer serves without the Worker (Workers static assets read
 * `_headers` at the root of the assets directory): hashed bundles are immutable, nothing is sniffed,
 * and index.html fetched by its own name gets the same policy as /console.
 */
const HEADERS = `/console/assets/*
  Cache-Control: public, max-age=31536000, immutable
  X-Content-Type-Options: nosniff

/console/index.html
  Content-Security-Policy: ${CONSOLE_CSP}
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
`;

function assetHeaders(): Plugin {
	return {
		name: "warbler-asset-headers",
		closeBundle() {
			writeFileSync(fileURLToPath(new URL("../dist-console/_headers", import.meta.url)), HEADERS);
		},
	};
}

// The console is served by the Worker's static assets under /console (wrangler.toml [assets]):
// dist-console/console/index.html and dist-console/console/assets/*.
export default defineConfig({
	root: fileURLToPath(new URL(".", import.meta.url)),
	base: "/console/",
	publicDir: false,
	oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
	build: {
		outDir: fileURLToPath(new URL("../dist-console/console", import.meta.url)),
		emptyOutDir: true,
		target: "es2022",
		// The console's own maps stay out of the deployed assets.
		sourcemap: false,
		reportCompressedSize: true,
	},
	plugins: [assetHeaders()],
	logLevel: "warn",
});
