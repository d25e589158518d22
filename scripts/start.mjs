// `npm start`: the whole local stack on 127.0.0.1:${PORT:-8787}, a demo app, and how to use it.
// Ctrl-C (or SIGTERM/SIGHUP) stops every process it started.
import { spawnSync } from "node:child_process";
import { delimiter, relative } from "node:path";
import { ROOT, startStack } from "./stack.mjs";

const controller = new AbortController();
let stack;
let stopping = false;

async function shutdown(signal) {
	if (stopping) return;
	stopping = true;
	console.log(`\n${signal}: stopping the local stack…`);
	controller.abort(); // a start in progress stops its children and rejects; the main flow then exits
	if (!stack) return;
	await stack.stop();
	process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => shutdown(signal));

/** `node` if the one on the user's PATH (outside node_modules/.bin) has a global WebSocket, else `npx node`. */
function nodeCommand() {
	const path = (process.env.PATH ?? "")
		.split(delimiter)
		.filter((p) => !p.includes("node_modules"))
		.join(delimiter);
	const r = spawnSync("node", ["-p", "process.versions.node"], { env: { ...process.env, PATH: path }, encoding: "utf8" });
	const major = Number(String(r.stdout).split(".")[0]);
	return major >= 22 ? "node" : "npx node";
}

function banner(s) {
	const d = s.demo;
	const ws = `${s.baseUrl.replace(/^http/, "ws")}/v1/connect?device=demo-device`;
	const wsScript =
		`const ws=new WebSocket("${ws}",["warbler.v1","warbler.token.${d.clientToken}"]);` +
		`ws.onopen=()=>ws.send(JSON.stringify({type:"hello",last_seq:0}));` +
		`ws.onmessage=(e)=>{console.log(e.data);const f=JSON.parse(e.data);if(f.type==="message")ws.send(JSON.stringify({type:"ack",seq:f.seq}))};` +
		`ws.onclose=(e)=>console.log("closed",e.code)`;
	const message = JSON.stringify({
		audience: { users: [d.userId] },
		content: { type: "text", title: "Hello", body: "Hello from Warbler" },
	});
	const line = "─".repeat(78);
	return [
		"",
		line,
		`  Warbler is running at ${s.baseUrl}`,
		line,
		`  API docs         ${s.baseUrl}/docs   (OpenAPI: ${s.baseUrl}/v1/openapi.json)`,
		`  Console          ${s.baseUrl}/console   (sign in with the demo app key or the admin token)`,
		`  Admin token      ADMIN_TOKEN in ${relative(process.cwd(), s.devVarsPath) || s.devVarsPath}`,
		`  Demo app         ${d.appId}${d.created ? "   (created now)" : "   (reused)"}`,
		`  Demo app key     ${d.key}`,
		"                   (new on every start; the previous start's demo key is revoked)",
		`  Client token     for user "${d.userId}", expires ${d.clientTokenExpiresAt}:`,
		`                   ${d.clientToken}`,
		"",
		"  1. Open a WebSocket as demo-user (Node 22+ has a global WebSocket):",
		"",
		`     ${nodeCommand()} -e '${wsScript}'`,
		"",
		"  2. In another terminal, send demo-user a message:",
		"",
		`     curl -sS ${s.baseUrl}/v1/messages \\`,
		`       -H 'authorization: Bearer ${d.key}' \\`,
		"       -H 'content-type: application/json' \\",
		`       -d '${message}'`,
		"",
		...(s.simulatorUrl
			? [
					"  3. Vendor pushes go to the local simulator (APNs, FCM, HMS, Xiaomi, OPPO, vivo, Honor, Meizu, Web Push); demo-user has one",
					`     device on each. Send with "options":{"channels":"vendor"}, then see what each vendor received:`,
					"",
					`     curl -sS ${s.simulatorUrl}/__sim/deliveries`,
					"",
				]
			: []),
		"  Plans:        free, pro, enterprise (scripts/example-plans.json; GET /v1/admin/plans); the demo app is on none.",
		`               Usage of the demo app: curl -sS ${s.baseUrl}/v1/usage -H 'authorization: Bearer ${d.key}'`,
		`  Cron locally: curl '${s.baseUrl}/__scheduled?cron=*+*+*+*+*'`,
		`  Local data:   ${relative(process.cwd(), s.persistTo) || s.persistTo} (delete it to start from scratch)`,
		`  Started in ${(s.timings.totalMs / 1000).toFixed(1)} s. Press Ctrl-C to stop.`,
		line,
		"",
	].join("\n");
}

try {
	process.chdir(ROOT);
	const started = await startStack({ signal: controller.signal });
	stack = started;
	if (stopping) {
		await started.stop();
		process.exit(0);
	} else {
		console.log(banner(stack));
		const { code, signal } = await stack.exited;
		if (!stopping) {
			console.error(`the local runtime exited (${signal ?? `code ${code}`}); stopping.`);
			await stack.stop();
			process.exit(typeof code === "number" && code !== 0 ? code : 1);
		}
	}
} catch (e) {
	if (stopping) process.exit(0);
	console.error(`\nnpm start failed: ${e instanceof Error ? e.message : e}`);
	process.exit(1);
}
