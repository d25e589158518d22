import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { auditEntry } from "../../core/db/audit.js";
import { db } from "../../core/db/client.js";
import { apps } from "../../core/db/schema.js";
import { AppSettings, AppSettingsPatch, applySettingsPatch } from "../../core/rules/settings.js";
import type { Api } from "../http/context.js";
import { notFound } from "../http/errors.js";
import { appKeyRoute } from "../http/route.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";

const TAG = "Settings";

const getSettings = createRoute({
	...appKeyRoute(TAG, "get", "/v1/settings", "read"),
	summary: "The app's delivery settings: frequency caps, quiet hours, default time zone, vendor fallback window, inbox cap",
	responses: { 200: json(AppSettings, "The settings (absent fields use their defaults)."), ...standardErrors },
});

const patchSettings = createRoute({
	...appKeyRoute(TAG, "patch", "/v1/settings", "manage"),
	summary: "Change settings; null puts one back to its default",
	request: jsonBody(AppSettingsPatch),
	responses: { 200: json(AppSettings, "The settings after the change."), ...standardErrors },
});

export function settingsRoutes(api: Api) {
	api.openapi(getSettings, async (c) => {
		const row = await db(c.env)
			.select({ settings: apps.settings })
			.from(apps)
			.where(eq(apps.id, c.get("caller").appId))
			.get();
		if (!row) throw notFound("app");
		return c.json(row.settings, 200);
	});

	api.openapi(patchSettings, async (c) => {
		const caller = c.get("caller");
		const d = db(c.env);
		const row = await d.select({ settings: apps.settings }).from(apps).where(eq(apps.id, caller.appId)).get();
		if (!row) throw notFound("app");
		const next = applySettingsPatch(row.settings, c.req.valid("json"));
		await d.batch([
			d.update(apps).set({ settings: next }).where(eq(apps.id, caller.appId)),
			auditEntry(d, caller, caller.appId, "settings.patch", Object.keys(c.req.valid("json")).join(",")),
		]);
		return c.json(next, 200);
	});
}
