import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations("./migrations");

// wrangler.toml serves the web console as static assets from dist-console/: the workers project needs
// the directory (npm test builds it first with `npm run build:console`; a lone run builds it here).
if (!existsSync("./dist-console/console/index.html")) {
	execFileSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "console/vite.config.ts"], {
		stdio: "inherit",
	});
}

export default defineConfig({
	test: {
		projects: [
			{
				// Unit and integration tests inside workerd, against the real Worker, DOs, D1 and Queues.
				plugins: [
					cloudflareTest({
						main: "./workers/index.ts",
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							compatibilityFlags: ["service_binding_extra_handlers"],
							bindings: {
								TEST_MIGRATIONS: migrations,
								ADMIN_TOKEN: "test-admin-token",
								ENCRYPTION_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
								WARBLER_ENV: "test",
							},
						},
					}),
				],
				test: {
					name: "workers",
					include: ["test/workers/**/*.test.ts"],
					setupFiles: ["./test/workers/setup.ts"],
					testTimeout: 30_000,
				},
			},
			{
				// Node-only unit tests (SDK logic against in-process fakes, payload builders, scripts).
				test: { name: "unit", environment: "node", include: ["test/unit/**/*.test.ts"] },
			},
			{
				// End to end: the stack started the way `npm start` starts it, driven over real HTTP and WebSockets.
				test: {
					name: "e2e",
					environment: "node",
					include: ["test/e2e/**/*.test.ts"],
					globalSetup: ["./test/e2e/global-setup.ts"],
					testTimeout: 120_000,
					hookTimeout: 120_000,
					fileParallelism: false,
				},
			},
		],
	},
});
