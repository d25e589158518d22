import type { Context } from "hono";
// Swagger UI ships inside the Worker, so /docs needs no CDN: its stylesheet and script are text
// modules (the [[rules]] in wrangler.toml), the version is for ETags.
import swaggerUiPackage from "swagger-ui-dist/package.json";
import swaggerUiCss from "swagger-ui-dist/swagger-ui.css";
import swaggerUiBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import type { Api, HonoEnv } from "../http/context.js";

/** Where the docs UI and its assets live; every URL the page loads is on this origin. */
const DOCS_PATH = "/docs";
const DOCS_ASSETS = {
	css: `${DOCS_PATH}/swagger-ui.css`,
	bundle: `${DOCS_PATH}/swagger-ui-bundle.js`,
	init: `${DOCS_PATH}/swagger-initializer.js`,
} as const;

const OPENAPI_URL = "/v1/openapi.json";
const NOSNIFF = { "x-content-type-options": "nosniff" };
/** Swagger UI's files change only with the swagger-ui-dist version: a day in caches, then revalidated by ETag. */
const ASSET_CACHE = "public, max-age=86400";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Warbler API</title>
<link rel="stylesheet" href="${DOCS_ASSETS.css}">
</head>
<body>
<div id="swagger-ui" data-url="${OPENAPI_URL}"></div>
<noscript>The OpenAPI document: <a href="${OPENAPI_URL}">${OPENAPI_URL}</a></noscript>
<script src="${DOCS_ASSETS.bundle}"></script>
<script src="${DOCS_ASSETS.init}"></script>
</body>
</html>
`;

// The document's URL comes from the page; validatorUrl null: Swagger UI would otherwise load a badge
// from validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
	url: document.getElementById("swagger-ui").dataset.url,
	dom_id: "#swagger-ui",
	deepLinking: true,
	validatorUrl: null,
});
`;

/** A file without its trailing sourceMappingURL comment: the maps are not served. */
function withoutSourceMap(text: string): string {
	const at = text.lastIndexOf("# sourceMappingURL=");
	if (at < 2) return text;
	const opener = text.slice(at - 2, at);
	return opener === "/*" || opener === "//" ? `${text.slice(0, at - 2).trimEnd()}\n` : text;
}

const bodies = new Map<string, string>();
function once(name: string, text: string): () => string {
	return () => {
		let body = bodies.get(name);
		if (body === undefined) {
			body = withoutSourceMap(text);
			bodies.set(name, body);
		}
		return body;
	};
}

function asset(c: Context<HonoEnv>, name: string, contentType: string, body: () => string) {
	const etag = `"swagger-ui-${swaggerUiPackage.version}-${name}"`;
	const headers = { "cache-control": ASSET_CACHE, etag, ...NOSNIFF };
	const presented = c.req.header("if-none-match");
	if (presented?.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) return c.body(null, 304, headers);
	return c.body(body(), 200, { ...headers, "content-type": contentType });
}

/**
 * The OpenAPI docs UI at /docs and the three files it loads, all served by the Worker itself (works
 * offline, on `wrangler dev` and deployed). Plain routes: they are not part of the OpenAPI document.
 */
export function docsRoutes(api: Api) {
	// The page and its initializer are ours and tiny: revalidated on every load.
	const ours = (contentType: string) => ({ "content-type": contentType, "cache-control": "no-cache", ...NOSNIFF });
	api.get(DOCS_PATH, (c) => c.body(PAGE, 200, ours("text/html; charset=utf-8")));
	api.get(DOCS_ASSETS.init, (c) => c.body(INIT, 200, ours("text/javascript; charset=utf-8")));
	api.get(DOCS_ASSETS.css, (c) => asset(c, "css", "text/css; charset=utf-8", once("css", swaggerUiCss)));
	api.get(DOCS_ASSETS.bundle, (c) => asset(c, "bundle", "text/javascript; charset=utf-8", once("bundle", swaggerUiBundle)));
}
