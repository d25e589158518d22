/**
 * Nothing accepted is lost, with the local stack killed mid-broadcast: five broadcasts to 2,000 users
 * are accepted (202), the whole stack is SIGKILLed at once (the local queue holds its fan-out jobs in
 * memory, so they die with it), and the stack starts again on the same storage. Every broadcast is
 * driven to the end (the ledgers' watchdogs, and the minute cron's sweep, poked here the way
 * Cloudflare's cron would call it) and every recipient's inbox has each message exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, startStack } from "../../scripts/stack.mjs";
import { apiAt } from "./helpers.js";
import { RawClient } from "./raw-client.js";

const USERS = 2000;
const BROADCASTS = 5;

describe("a stack killed mid-broadcast", () => {
	it("drives every accepted broadcast to every recipient exactly once after a SIGKILL and a restart", async () => {
		const persistTo = mkdtempSync(join(tmpdir(), "warbler-crash-"));
		try {
			let stack = await startStack({ port: await freePort(), persistTo, quiet: true, simulator: false, demo: false });
			const call = (method: string, path: string, token: string, body?: unknown) =>
				apiAt(stack.baseUrl)(method, path, token, body);
			const app = await call("POST", "/v1/apps", stack.adminToken, { name: "crash" });
			const key = app.body.key.secret as string;
			const users = Array.from({ length: USERS }, (_, i) => `c${String(i).padStart(4, "0")}`);
			for (let i = 0; i < USERS; i += 1000) {
				expect((await call("POST", "/v1/tags/all-hands/users", key, { add: users.slice(i, i + 1000) })).status).toBe(200);
			}
			const ids: string[] = [];
			for (let i = 0; i < BROADCASTS; i++) {
				const sent = await call("POST", "/v1/messages", key, {
					audience: { tags: { any: ["all-hands"] } },
					content: { type: "text", body: `broadcast ${i}` },
				});
				expect(sent.status).toBe(202);
				ids.push(sent.body.id);
			}
			// At once, no shutdown: wrangler, workerd and everything in their process group.
			process.kill(-stack.pid!, "SIGKILL");
			await stack.exited;
			stack = await startStack({ port: await freePort(), persistTo, quiet: true, simulator: false, demo: false });
			const deadline = Date.now() + 120_000;
			const status = async () => Promise.all(ids.map(async (id) => (await call("GET", `/v1/messages/${id}`, key)).body));
			let views = await status();
			while (views.some((v) => v.status !== "done" || v.counts.targeted !== USERS) && Date.now() < deadline) {
				// Cloudflare's minute cron calls this; locally cron never fires by itself.
				await fetch(`${stack.baseUrl}/__scheduled?cron=*+*+*+*+*`);
				await new Promise((r) => setTimeout(r, 2000));
				views = await status();
			}
			for (const v of views) {
				expect(v.status).toBe("done");
				expect(v.counts).toMatchObject({ targeted: USERS, failed: 0 });
			}
			// Three recipients across the audience resume from the start: each broadcast once, in seq order.
			for (const user of [users[0]!, users[777]!, users[USERS - 1]!]) {
				const token = (await call("POST", `/v1/users/${user}/tokens`, key, {})).body.token as string;
				const client = new RawClient(stack.baseUrl, token, "d");
				const welcome = await client.connect();
				expect(welcome.seq).toBe(BROADCASTS);
				await client.waitForCount(BROADCASTS);
				await new Promise((r) => setTimeout(r, 300));
				expect(client.ids().sort()).toEqual([...ids].sort());
				expect(client.received.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
				client.close();
			}
			await stack.stop();
		} finally {
			rmSync(persistTo, { recursive: true, force: true });
		}
	}, 180_000);
});
