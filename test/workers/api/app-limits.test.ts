/**
 * Per-app limits on what an app keeps: automations, templates and schedules that can still fire.
 * Filled to one below the limit directly in D1 (thousands of API calls would only slow the test),
 * then the API takes one more and refuses the next with 409; deleting one makes room again.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { APP_LIMITS } from "../../../core/db/app-limits.js";
import { call, newApp } from "../http.js";
import { expectError } from "./helpers.js";

const NOW = "2026-01-01T00:00:00.000Z";

/** `n` rows made by one statement (a recursive counter), so the fixture costs one D1 call. */
async function fill(table: "automations" | "templates" | "schedules", appId: string, n: number) {
	const columns: Record<typeof table, [string, string]> = {
		automations: [
			"app_id, id, name, trigger_event, definition, enabled, created_at, updated_at",
			`?1, 'aut_fill' || x, 'fill', 'never', '{"trigger":{"event":"never"},"message":{"content":{"type":"text","body":"x"}}}', 0, '${NOW}', '${NOW}'`,
		],
		templates: [
			"app_id, id, name, definition, created_at, updated_at",
			`?1, 'tpl_fill' || x, 'fill', '{"name":"fill","variants":{"en":{"type":"text","body":"x"}}}', '${NOW}', '${NOW}'`,
		],
		schedules: [
			'app_id, id, message, "when", status, max_lateness_seconds, next_run_at, run_count, created_at, updated_at',
			`?1, 'sch_fill' || x, '{"audience":{"users":["u"]},"content":{"type":"text","body":"x"}}', '{"at":"2099-01-01T00:00:00Z"}', CASE WHEN x % 2 = 0 THEN 'active' ELSE 'paused' END, 3600, '2099-01-01T00:00:00.000Z', 0, '${NOW}', '${NOW}'`,
		],
	};
	const [cols, values] = columns[table];
	await env.DB.prepare(
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?2) INSERT INTO ${table} (${cols}) SELECT ${values} FROM c`,
	)
		.bind(appId, n)
		.run();
}

describe("per-app limits", () => {
	it("automations: the last one fits, the next is a 409, deleting one makes room", async () => {
		const { appId, key } = await newApp();
		await fill("automations", appId, APP_LIMITS.automations - 1);
		const body = { name: "a", trigger: { event: "e" }, message: { content: { type: "text", body: "x" } } };
		const last = await call("POST", "/v1/automations", key, body);
		expect(last.status).toBe(201);
		expectError(await call("POST", "/v1/automations", key, body), 409, "conflict");
		expect((await call("DELETE", `/v1/automations/${last.body.id}`, key)).status).toBe(204);
		expect((await call("POST", "/v1/automations", key, body)).status).toBe(201);
	});

	it("templates: the last one fits, the next is a 409", async () => {
		const { appId, key } = await newApp();
		await fill("templates", appId, APP_LIMITS.templates - 1);
		const body = { name: "t", variants: { en: { type: "text", body: "x" } } };
		expect((await call("POST", "/v1/templates", key, body)).status).toBe(201);
		expectError(await call("POST", "/v1/templates", key, body), 409, "conflict");
	});

	it("schedules that can still fire count; done and canceled ones do not", async () => {
		const { appId, key } = await newApp();
		await fill("schedules", appId, APP_LIMITS.schedules);
		const body = {
			when: { at: "2099-06-01T00:00:00Z" },
			message: { audience: { users: ["u"] }, content: { type: "text", body: "x" } },
		};
		expectError(await call("POST", "/v1/schedules", key, body), 409, "conflict");
		await env.DB.prepare("UPDATE schedules SET status = 'done' WHERE app_id = ? AND id = 'sch_fill1'").bind(appId).run();
		expect((await call("POST", "/v1/schedules", key, body)).status).toBe(201);
		expectError(await call("POST", "/v1/schedules", key, body), 409, "conflict");
	});
});
