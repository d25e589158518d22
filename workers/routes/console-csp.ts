/**
 * The console page's Content-Security-Policy: the Worker sends it with /console, and the console's build
 * writes it into the assets' _headers for index.html (console/vite.config.ts). No imports: Vite loads it.
 */
// The console talks only to this origin (and its WebSockets); content previews may show https images.
export const CONSOLE_CSP = [
	"default-src 'self'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data: blob: https:",
	"media-src 'self' https:",
	"connect-src 'self' ws: wss:",
	"frame-ancestors 'none'",
	"base-uri 'none'",
	"form-action 'self'",
].join("; ");
