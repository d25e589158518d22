// Starts the local stack exactly as `npm start` does (scripts/stack.mjs), on a free port and a fresh
// temporary persist dir so the developer's own .wrangler data is never touched.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, readDevVars, type Stack, startStack } from "../../scripts/stack.mjs";
import { leakedIn, requireSecrets, simulatorSecrets } from "./secrets.js";

declare module "vitest" {
	export interface ProvidedContext {
		/** e.g. http://127.0.0.1:40123 */
		baseUrl: string;
		/** The local vendor simulator the Worker's vendor endpoints point at. */
		simulatorUrl: string;
		/** ADMIN_TOKEN from the .dev.vars the stack runs with. */
		adminToken: string;
		/** The demo app that `npm start` prints, with the key and client token of this start. */
		demo: { appId: string; keyId: string; key: string; userId: string; clientToken: string };
	}
}

export default async function setup(project: TestProject) {
	const persistTo = mkdtempSync(join(tmpdir(), "warbler-e2e-"));
	// Also when vitest is interrupted before teardown (stack.mjs kills the stack's processes on exit).
	const cleanUp = () => rmSync(persistTo, { recursive: true, force: true });
	process.once("exit", cleanUp);
	let stack: Stack | undefined;
	// freePort() can race with another process grabbing the port; try a few.
	for (let attempt = 1; !stack; attempt++) {
		try {
			stack = await startStack({ port: await freePort(), persistTo, quiet: true });
		} catch (e) {
			if (attempt >= 3 || !String(e).includes("already in use")) {
				cleanUp();
				throw e;
			}
		}
	}
	const started = stack;
	let stopping = false;
	void started.exited.then(({ code, signal }) => {
		if (!stopping) console.error(`e2e: the local runtime died (${signal ?? `code ${code}`}):\n${started.output()}`);
	});
	const demo = started.demo!;
	project.provide("baseUrl", started.baseUrl);
	project.provide("adminToken", started.adminToken);
	project.provide("simulatorUrl", started.simulatorUrl!);
	project.provide("demo", {
		appId: demo.appId,
		keyId: demo.keyId,
		key: demo.key,
		userId: demo.userId,
		clientToken: demo.clientToken,
	});
	// Secrets that must never reach a log line: checked against everything wrangler printed. Each is
	// checked to be a real value now, so a renamed field fails the run instead of searching for nothing.
	let secrets: Record<string, string>;
	try {
		if (!started.simulatorUrl) throw new Error("the stack started without the vendor simulator");
		secrets = {
			...requireSecrets({
				ADMIN_TOKEN: started.adminToken,
				ENCRYPTION_KEY: readDevVars(started.devVarsPath).ENCRYPTION_KEY,
			}),
			...simulatorSecrets(await (await fetch(`${started.simulatorUrl}/__sim/credentials`)).json()),
		};
	} catch (e) {
		stopping = true;
		await started.stop();
		cleanUp();
		throw e;
	}
	return async () => {
		stopping = true;
		const logs = started.output();
		await started.stop();
		const leaks = leakedIn(logs, secrets);
		if (leaks.length) throw new Error(`secrets appeared in the Worker's logs: ${leaks.join(", ")}`);
		cleanUp();
		process.off("exit", cleanUp);
	};
}
