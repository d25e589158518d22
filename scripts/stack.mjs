// The local stack, started the same way by `npm start` and the end-to-end tests:
// .dev.vars → local D1 migrations and the `wrangler deploy --dry-run` bundle → that bundle on Miniflare
// (scripts/runtime.mjs: one workerd process, no wrangler dev proxy) → the demo app, a fresh demo key and a client token.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevVars } from "./dev-vars.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEMO_USER = "demo-user";
export const DEMO_APP_NAME = "Warbler demo";
const DEMO_FILE = "warbler-demo.json";
const DEMO_TOKEN_TTL = 24 * 3600;

const WRANGLER = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
const RUNTIME = join(ROOT, "scripts", "runtime.mjs");

/** Environment for every wrangler child: offline-friendly, no telemetry, never a prompt. */
function wranglerEnv(extra = {}) {
	return {
		...process.env,
		CLOUDFLARE_CF_FETCH_ENABLED: "false",
		WRANGLER_SEND_METRICS: "false",
		...extra,
	};
}

// Every process group this module started, so a dying parent can take them with it.
const groups = new Set();
process.on("exit", () => {
	for (const pid of groups) killGroup(pid, "SIGKILL");
});

function killGroup(pid, signal) {
	try {
		process.kill(-pid, signal);
		return true;
	} catch {
		return false; // ESRCH: the group is gone.
	}
}

function groupAlive(pid) {
	try {
		process.kill(-pid, 0);
		return true;
	} catch (e) {
		return e.code === "EPERM";
	}
}

/**
 * Spawns a Node script (wrangler by default) as the leader of its own process group (wrangler and the
 * runtime start workerd under it), so one signal to the group reaches every process, and none is left behind.
 */
function spawnGroup(args, { quiet, env, script = WRANGLER }) {
	const child = spawn(process.execPath, [script, ...args], {
		cwd: ROOT,
		env,
		detached: true,
		stdio: quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
	});
	const pid = child.pid;
	if (pid !== undefined) groups.add(pid);
	const output = [];
	const keep = (chunk) => {
		output.push(String(chunk));
		if (output.length > 400) output.splice(0, output.length - 400);
	};
	child.stdout?.on("data", keep);
	child.stderr?.on("data", keep);
	const exited = new Promise((done) => {
		child.once("exit", (code, signal) => done({ code, signal }));
		child.once("error", (error) => done({ code: null, signal: null, error }));
	});
	let stopping;
	const stop = (graceMs = 5000) => {
		stopping ??= (async () => {
			if (pid === undefined) return;
			killGroup(pid, "SIGTERM");
			const deadline = Date.now() + graceMs;
			while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
			if (groupAlive(pid)) killGroup(pid, "SIGKILL");
			while (groupAlive(pid)) await sleep(20);
			await exited;
			groups.delete(pid);
		})();
		return stopping;
	};
	return { child, pid, exited, stop, output: () => output.join("") };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reads KEY=value lines (optionally quoted) from a .dev.vars / .env file. */
export function readDevVars(path) {
	const vars = {};
	for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
		const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
		if (!m) continue;
		let value = m[2];
		const q = value[0];
		if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) value = value.slice(1, -1);
		else value = value.replace(/\s+#.*$/, "");
		vars[m[1]] = value;
	}
	return vars;
}

/** Resolves when 127.0.0.1:port can be bound, rejects with a readable error when something else holds it. */
function assertPortFree(port) {
	return new Promise((ok, fail) => {
		const srv = createServer();
		srv.once("error", (e) =>
			fail(
				new Error(
					e.code === "EADDRINUSE"
						? `Port ${port} on 127.0.0.1 is already in use (another \`npm start\`?). Stop it or pick another port: PORT=8788 npm start`
						: `Cannot bind 127.0.0.1:${port}: ${e.message}`,
				),
			),
		);
		srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => ok()));
	});
}

/** A TCP port on 127.0.0.1 that is free right now (for tests and benchmarks). */
export function freePort() {
	return new Promise((ok, fail) => {
		const srv = createServer();
		srv.once("error", fail);
		srv.listen({ port: 0, host: "127.0.0.1" }, () => {
			const { port } = srv.address();
			srv.close(() => ok(port));
		});
	});
}

/** Runs one wrangler command to its end (stopped with the start if `signal` aborts). */
async function runWrangler(args, signal) {
	// CI=true: non-interactive, never asks "Ok to proceed?"
	const proc = spawnGroup(args, { quiet: true, env: wranglerEnv({ CI: "true" }) });
	const onAbort = () => proc.stop();
	signal?.addEventListener("abort", onAbort, { once: true });
	const { code, error } = await proc.exited;
	signal?.removeEventListener("abort", onAbort);
	await proc.stop();
	signal?.throwIfAborted();
	return { code, error, out: proc.output() };
}

async function applyMigrations(persistTo, { quiet, signal }) {
	const { code, error, out } = await runWrangler(
		["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
		signal,
	);
	if (error || code !== 0) {
		throw new Error(`wrangler d1 migrations apply failed (exit ${code ?? error?.message}):\n${out}`);
	}
	const applied = [...new Set(out.match(/\b\d{4}_[\w-]+\.sql\b/g) ?? [])];
	if (!quiet) {
		console.log(
			/No migrations to apply/i.test(out) || applied.length === 0
				? "D1 migrations: up to date"
				: `D1 migrations applied: ${applied.join(", ")}`,
		);
	}
	return applied;
}

const LOCAL_ENTRY = join(ROOT, "scripts", "local-entry.mjs");

/** `wrangler deploy --dry-run` of the entry (scripts/local-entry.mjs: the deployed Worker plus /__scheduled) into outdir. */
async function bundleWorker(outdir, entry, { signal }) {
	const { code, error, out } = await runWrangler(
		["deploy", entry, "--dry-run", "--outdir", outdir, "--config", join(ROOT, "wrangler.toml")],
		signal,
	);
	if (error || code !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${code ?? error?.message}):\n${out}`);
}

const CONSOLE_INDEX = join(ROOT, "dist-console", "console", "index.html");

/**
 * The web console's static files (wrangler.toml [assets]) must exist before the bundle: `npm start`
 * and `npm test` rebuild them (npm run build:console); a start without them (e.g. one vitest project
 * run alone) builds them once here.
 */
async function ensureConsoleBuilt(signal) {
	if (existsSync(CONSOLE_INDEX)) return;
	const vite = join(dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin", "vite.js");
	const proc = spawnGroup(["build", "--config", join(ROOT, "console", "vite.config.ts")], {
		script: vite,
		quiet: true,
		env: process.env,
	});
	const onAbort = () => proc.stop();
	signal?.addEventListener("abort", onAbort, { once: true });
	const { code, error } = await proc.exited;
	signal?.removeEventListener("abort", onAbort);
	await proc.stop();
	signal?.throwIfAborted();
	if (error || code !== 0) throw new Error(`building the console failed (exit ${code ?? error?.message}):\n${proc.output()}`);
}

async function waitUntilReady(baseUrl, dev, timeoutMs, signal) {
	const deadline = Date.now() + timeoutMs;
	let exited = false;
	dev.exited.then(() => {
		exited = true;
	});
	let last = "no answer yet";
	while (Date.now() < deadline) {
		signal?.throwIfAborted();
		if (exited) throw new Error(`the local runtime exited before it was ready:\n${dev.output()}`);
		try {
			const res = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(15_000) });
			const body = await res.text();
			if (res.ok && body.includes('"warbler"')) return;
			last = `GET / answered ${res.status}`;
		} catch (e) {
			last = String(e?.cause?.code ?? e?.message ?? e);
		}
		await sleep(100);
	}
	throw new Error(`the local runtime was not ready at ${baseUrl} within ${timeoutMs} ms (${last}):\n${dev.output()}`);
}

async function call(baseUrl, method, path, token, body) {
	const res = await fetch(`${baseUrl}${path}`, {
		method,
		headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	let json;
	try {
		json = text ? JSON.parse(text) : undefined;
	} catch {
		json = undefined;
	}
	return { status: res.status, body: json, text };
}

function expectStatus(r, status, what) {
	if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${r.text.slice(0, 500)}`);
	return r.body;
}

function readDemoFile(path) {
	if (!existsSync(path)) return {};
	try {
		const data = JSON.parse(readFileSync(path, "utf8"));
		return typeof data === "object" && data ? data : {};
	} catch {
		return {};
	}
}

function writeDemoFile(path, data) {
	const tmp = `${path}.${process.pid}.tmp`;
	writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
	renameSync(tmp, path);
}

/**
 * The demo app: created once per persist dir (its id, never a secret, is kept in `<persistTo>/warbler-demo.json`);
 * every start mints a fresh key and revokes the keys earlier starts minted, then mints a client token for demo-user.
 */
export async function ensureDemo(baseUrl, adminToken, demoFile, { warn = console.warn } = {}) {
	const saved = readDemoFile(demoFile);
	let app;
	if (typeof saved.appId === "string") {
		const r = await call(baseUrl, "GET", `/v1/apps/${encodeURIComponent(saved.appId)}`, adminToken);
		if (r.status === 200) app = r.body;
		else if (r.status !== 404) expectStatus(r, 200, `GET /v1/apps/${saved.appId}`);
	}
	if (app) {
		const key = expectStatus(
			await call(baseUrl, "POST", `/v1/apps/${app.id}/keys`, adminToken, { name: `demo-${Date.now()}` }),
			201,
			"minting the demo key",
		);
		writeDemoFile(demoFile, { appId: app.id, keyId: key.id, updatedAt: new Date().toISOString() });
		// Revoke what earlier starts handed out (their secrets only ever lived in a terminal); keys made by hand stay.
		for (const k of app.keys ?? []) {
			if (k.id === key.id || k.revoked_at) continue;
			if (k.id !== saved.keyId && !k.name.startsWith("demo-")) continue;
			const r = await call(baseUrl, "DELETE", `/v1/apps/${app.id}/keys/${encodeURIComponent(k.id)}`, adminToken);
			if (r.status !== 204 && r.status !== 404) expectStatus(r, 204, `revoking the previous demo key ${k.id}`);
		}
		const token = await call(baseUrl, "POST", `/v1/users/${DEMO_USER}/tokens`, key.secret, { ttl_seconds: DEMO_TOKEN_TTL });
		if (token.status === 201) return demoInfo(app.id, false, key, token.body);
		if (token.status < 500) expectStatus(token, 201, "minting the demo client token");
		// The app's signing secret is sealed with ENCRYPTION_KEY: a regenerated .dev.vars cannot open it.
		warn(
			`The demo app ${app.id} cannot mint client tokens: its secrets were sealed with another ENCRYPTION_KEY ` +
				"(was .dev.vars regenerated?). Creating a new demo app. Apps created before have the same problem: " +
				"restore the old .dev.vars, or delete the local data dir to start from scratch.",
		);
	}
	const made = expectStatus(
		await call(baseUrl, "POST", "/v1/apps", adminToken, { name: DEMO_APP_NAME }),
		201,
		"creating the demo app",
	);
	writeDemoFile(demoFile, { appId: made.id, keyId: made.key.id, updatedAt: new Date().toISOString() });
	const token = expectStatus(
		await call(baseUrl, "POST", `/v1/users/${DEMO_USER}/tokens`, made.key.secret, { ttl_seconds: DEMO_TOKEN_TTL }),
		201,
		"minting the demo client token",
	);
	return demoInfo(made.id, true, made.key, token);
}

/**
 * The example plans (scripts/example-plans.json: free, pro, enterprise), defined when missing; a plan
 * an operator changed is left as it is. No app is put on one: the demo app keeps no limits.
 */
export async function ensureExamplePlans(baseUrl, adminToken) {
	const file = join(dirname(fileURLToPath(import.meta.url)), "example-plans.json");
	const { plans } = JSON.parse(readFileSync(file, "utf8"));
	for (const plan of plans) {
		const r = await call(baseUrl, "POST", "/v1/admin/plans", adminToken, plan);
		if (r.status !== 409) expectStatus(r, 201, `defining the example plan ${plan.id}`);
	}
	return plans.map((p) => p.id);
}

/** Vendor devices of demo-user, re-registered on every start (the simulator's Web Push subscriptions live in memory). */
const DEMO_VENDOR_DEVICES = [
	{ id: "demo-iphone", platform: "ios", channel: "apns", token: "a1".repeat(32) },
	{ id: "demo-pixel", platform: "android", channel: "fcm", token: "demo-fcm-registration-token" },
	{ id: "demo-huawei", platform: "android", channel: "hms", token: "demo-hms-push-token" },
	{ id: "demo-xiaomi", platform: "android", channel: "xiaomi", token: "demo-xiaomi-regid" },
	{ id: "demo-oppo", platform: "android", channel: "oppo", token: "CN_demo-oppo-registration-id" },
	{ id: "demo-vivo", platform: "android", channel: "vivo", token: "demo-vivo-regid" },
	{ id: "demo-honor", platform: "android", channel: "honor", token: "demo-honor-push-token" },
	{ id: "demo-meizu", platform: "android", channel: "meizu", token: "demo-meizu-push-id" },
];

/**
 * Points the demo app's vendor credentials at the local simulator and gives demo-user one device per
 * vendor, so a newcomer sees a vendor push arrive locally (GET <simulator>/__sim/deliveries).
 */
export async function configureDemoVendors(baseUrl, key, simulatorUrl) {
	const creds = await (await fetch(`${simulatorUrl}/__sim/credentials`)).json();
	for (const channel of ["apns", "fcm", "hms", "xiaomi", "oppo", "vivo", "honor", "meizu"]) {
		expectStatus(await call(baseUrl, "PUT", `/v1/credentials/${channel}`, key, creds[channel]), 200, `configuring ${channel}`);
	}
	expectStatus(
		await call(baseUrl, "PUT", "/v1/credentials/webpush", key, { subject: "mailto:demo@warbler.local" }),
		200,
		"configuring webpush",
	);
	const { endpoint, keys } = await (await fetch(`${simulatorUrl}/__sim/webpush/subscriptions`, { method: "POST" })).json();
	const subscription = { endpoint, keys };
	const devices = [...DEMO_VENDOR_DEVICES, { id: "demo-browser", platform: "web", channel: "webpush", subscription }];
	for (const device of devices) {
		expectStatus(await call(baseUrl, "POST", `/v1/users/${DEMO_USER}/devices`, key, device), 201, `registering ${device.id}`);
	}
	return devices.map((d) => d.id);
}

function demoInfo(appId, created, key, token) {
	return {
		appId,
		created,
		keyId: key.id,
		key: key.secret,
		userId: DEMO_USER,
		clientToken: token.token,
		clientTokenExpiresAt: token.expires_at,
	};
}

/**
 * Starts the whole local stack and resolves once it serves the API and the demo app is ready.
 *
 * @param {object} [options]
 * @param {number} [options.port] 127.0.0.1 port (default: $PORT or 8787; must be free).
 * @param {string} [options.persistTo] local state dir for D1/DOs (default: .wrangler/state, as plain `wrangler dev`).
 * @param {boolean} [options.quiet] keep wrangler's and the Worker's output to memory (shown only if the start fails).
 * @param {boolean} [options.demo] create/refresh the demo app (default true).
 * @param {number} [options.readyTimeoutMs] how long to wait for `GET /` (default 90 s).
 * @param {boolean} [options.simulator] start the local vendor simulator and point the Worker at it (default true).
 * @param {number} [options.simulatorPort] its port (default: $SIM_PORT, else any free port).
 * @param {AbortSignal} [options.signal] aborts a start in progress (children are stopped).
 * @param {string} [options.entry] the module to bundle and run (default scripts/local-entry.mjs; the benchmark wraps it).
 * @param {Record<string, string>} [options.vars] extra Worker variables, over .dev.vars.
 */
export async function startStack(options = {}) {
	const {
		port = Number(process.env.PORT || 8787),
		persistTo = join(ROOT, ".wrangler", "state"),
		quiet = false,
		demo = true,
		readyTimeoutMs = 90_000,
		simulator = true,
		simulatorPort = Number(process.env.SIM_PORT || 0),
		signal,
		entry = LOCAL_ENTRY,
		vars = {},
	} = options;
	if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Invalid port ${port}: set PORT to 1–65535`);
	const persistDir = resolve(ROOT, persistTo);
	const t0 = performance.now();
	const devVarsPath = join(ROOT, ".dev.vars");
	const createdDevVars = ensureDevVars(devVarsPath);
	if (!quiet) console.log(createdDevVars ? "Created .dev.vars with fresh random secrets" : "Using existing .dev.vars");
	const adminToken = readDevVars(devVarsPath).ADMIN_TOKEN;
	if (!adminToken) throw new Error(`${devVarsPath} has no ADMIN_TOKEN; add one or delete the file to have it regenerated`);

	await assertPortFree(port);
	mkdirSync(persistDir, { recursive: true });
	const tmpRoot = join(ROOT, ".wrangler", "tmp");
	mkdirSync(tmpRoot, { recursive: true });
	const bundleDir = mkdtempSync(join(tmpRoot, "stack-"));
	const removeBundle = () => rmSync(bundleDir, { recursive: true, force: true });
	try {
		await ensureConsoleBuilt(signal);
		await Promise.all([applyMigrations(persistDir, { quiet, signal }), bundleWorker(bundleDir, entry, { signal })]);
	} catch (e) {
		removeBundle();
		throw e;
	}
	signal?.throwIfAborted();
	const migrationsMs = Math.round(performance.now() - t0);

	const baseUrl = `http://127.0.0.1:${port}`;
	// The vendor simulator runs in this process; the Worker reaches it through deployment variables.
	const sim = simulator ? await (await import("../sim/server.ts")).startSimulator({ port: simulatorPort }) : undefined;
	const simVars = sim ? (await import("../sim/server.ts")).simulatorEnv(sim.url) : {};
	const dev = spawnGroup([], {
		script: RUNTIME,
		quiet,
		env: wranglerEnv({
			WARBLER_RUNTIME: JSON.stringify({
				root: ROOT,
				port,
				persistDir,
				bundleDir,
				entry: `${basename(entry).replace(/\.[cm]?[jt]s$/, "")}.js`,
				vars: { ...simVars, ...vars },
			}),
		}),
	});
	void dev.exited.then(removeBundle); // also when the runtime is killed without stop()
	const stopAll = async () => {
		await dev.stop();
		await sim?.close();
	};
	const onAbort = () => stopAll();
	signal?.addEventListener("abort", onAbort, { once: true });
	try {
		await waitUntilReady(baseUrl, dev, readyTimeoutMs, signal);
		const readyMs = Math.round(performance.now() - t0);
		await ensureExamplePlans(baseUrl, adminToken);
		const demoFile = join(persistDir, DEMO_FILE);
		const demoState = demo
			? await ensureDemo(baseUrl, adminToken, demoFile, { warn: quiet ? () => {} : console.warn })
			: undefined;
		if (demoState && sim) demoState.vendorDevices = await configureDemoVendors(baseUrl, demoState.key, sim.url);
		signal?.throwIfAborted();
		return {
			baseUrl,
			port,
			persistTo: persistDir,
			adminToken,
			devVarsPath,
			simulatorUrl: sim?.url,
			demo: demoState,
			pid: dev.pid,
			timings: { migrationsMs, readyMs, totalMs: Math.round(performance.now() - t0) },
			/** Resolves when the runtime exits on its own (or is stopped). */
			exited: dev.exited,
			/** Output kept when started quiet. */
			output: dev.output,
			/** SIGTERM to the whole process group (the runtime and workerd), SIGKILL after 5 s; then the simulator. */
			stop: stopAll,
		};
	} catch (e) {
		await stopAll();
		throw e;
	} finally {
		signal?.removeEventListener("abort", onAbort);
	}
}
