import { describe, expect, it } from "vitest";
import { TestSocket } from "../delivery/helpers.js";
import { call, clientToken, newApp } from "../http.js";

const TEMPLATE = {
	name: "order-shipped",
	default_locale: "en",
	variants: {
		en: { type: "text", title: "Hi {{user.attributes.first_name|there}}", body: "Order {{vars.order_id}} shipped" },
		"zh-CN": { type: "text", title: "{{user.attributes.first_name|您好}}", body: "订单 {{vars.order_id}} 已发货" },
	},
};

describe("templates", () => {
	it("CRUD with validation and cross-app 404", async () => {
		const { key } = await newApp();
		const created = await call("POST", "/v1/templates", key, TEMPLATE);
		expect(created.status).toBe(201);
		expect(created.body.variables.sort()).toEqual(["user.attributes.first_name", "vars.order_id"]);
		const bad = await call("POST", "/v1/templates", key, { ...TEMPLATE, default_locale: "fr" });
		expect(bad.status).toBe(400);
		expect(bad.body.error.details[0].path).toBe("default_locale");
		expect((await call("GET", `/v1/templates/${created.body.id}`, key)).body.name).toBe("order-shipped");
		const other = await newApp("other");
		expect((await call("GET", `/v1/templates/${created.body.id}`, other.key)).status).toBe(404);
		const patched = await call("PATCH", `/v1/templates/${created.body.id}`, key, { ...TEMPLATE, name: "renamed" });
		expect(patched.body.name).toBe("renamed");
		expect((await call("GET", "/v1/templates", key)).body.templates).toHaveLength(1);
		expect((await call("DELETE", `/v1/templates/${created.body.id}`, key)).status).toBe(204);
		expect((await call("GET", `/v1/templates/${created.body.id}`, key)).status).toBe(404);
	});

	it("renders per recipient with their locale and attributes; missing variables fall back, never crash", async () => {
		const { key } = await newApp();
		const tpl = await call("POST", "/v1/templates", key, TEMPLATE);
		await call("PUT", "/v1/users/li", key, { locale: "zh-CN", attributes: { first_name: "李雷" } });
		await call("PUT", "/v1/users/ann", key, { locale: "en-GB", attributes: { first_name: "Ann" } });
		await call("PUT", "/v1/users/bob", key, { locale: "de-DE" });
		const sockets = await Promise.all(
			["li", "ann", "bob"].map(async (u) => {
				const s = await TestSocket.open(await clientToken(key, u), "d");
				await s.hello(0);
				return s;
			}),
		);
		const sent = await call("POST", "/v1/messages", key, {
			audience: { users: ["li", "ann", "bob"] },
			template_id: tpl.body.id,
			variables: { order_id: "42" },
		});
		expect(sent.status).toBe(202);
		const [li, ann, bob] = await Promise.all(sockets.map((s) => s.next((f) => f.type === "message")));
		expect(li).toMatchObject({ content: { title: "李雷", body: "订单 42 已发货" } });
		expect(ann).toMatchObject({ content: { title: "Hi Ann", body: "Order 42 shipped" } });
		// No de variant: the default locale; no first_name: the template's fallback.
		expect(bob).toMatchObject({ content: { title: "Hi there", body: "Order 42 shipped" } });
		for (const s of sockets) s.close();
		const missing = await call("POST", "/v1/messages", key, { audience: { users: ["ann"] }, template_id: tpl.body.id });
		expect(missing.status).toBe(202);
		const both = await call("POST", "/v1/messages", key, {
			audience: { users: ["ann"] },
			template_id: tpl.body.id,
			content: { type: "text", body: "x" },
		});
		expect(both.status).toBe(400);
		const unknown = await call("POST", "/v1/messages", key, { audience: { users: ["ann"] }, template_id: "tpl_nope" });
		expect(unknown.status).toBe(400);
		expect(unknown.body.error.details[0].path).toBe("template_id");
	});

	it("renders {{event.properties.…}} from the event that triggered an automation", async () => {
		const { key } = await newApp();
		const tpl = await call("POST", "/v1/templates", key, {
			name: "shipped",
			variants: { en: { type: "text", body: "Parcel {{event.properties.parcel}} is on its way" } },
		});
		const auto = await call("POST", "/v1/automations", key, {
			name: "ship notice",
			trigger: { event: "shipped" },
			message: { template_id: tpl.body.id },
			enabled: true,
		});
		expect(auto.status).toBe(201);
		const s = await TestSocket.open(await clientToken(key, "eve"), "d");
		await s.hello(0);
		const ev = await call("POST", "/v1/events", key, { user_id: "eve", name: "shipped", properties: { parcel: "JD0042" } });
		expect(ev.status).toBeLessThan(300);
		expect(await s.next((f) => f.type === "message", 0, 10_000)).toMatchObject({
			content: { body: "Parcel JD0042 is on its way" },
		});
		s.close();
	});

	it("inline content with {{…}} renders per recipient like a template; \\{{ is literal braces; bad variables are a 400", async () => {
		const { key } = await newApp();
		await call("PUT", "/v1/users/ann", key, { attributes: { first_name: "Ann" } });
		await call("PUT", "/v1/users/bo", key, {});
		const sockets = new Map<string, TestSocket>();
		for (const u of ["ann", "bo"]) {
			const s = await TestSocket.open(await clientToken(key, u), "d");
			await s.hello(0);
			sockets.set(u, s);
		}
		const sent = await call("POST", "/v1/messages", key, {
			audience: { users: ["ann", "bo"] },
			content: {
				type: "text",
				title: "Hi {{user.attributes.first_name|there}}",
				body: "Code {{vars.code}} for {{user.id}}, shown as \\{{literal}}",
			},
			variables: { code: "X7" },
		});
		expect(sent.status).toBe(202);
		expect(await sockets.get("ann")?.next((f) => f.type === "message")).toMatchObject({
			content: { title: "Hi Ann", body: "Code X7 for ann, shown as {{literal}}" },
		});
		expect(await sockets.get("bo")?.next((f) => f.type === "message")).toMatchObject({
			content: { title: "Hi there", body: "Code X7 for bo, shown as {{literal}}" },
		});
		for (const s of sockets.values()) s.close();

		const bad = await call("POST", "/v1/messages", key, {
			audience: { users: ["ann"] },
			content: { type: "text", body: "Hello {{nope.x}}" },
		});
		expect(bad.status).toBe(400);
		expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(["content.body"]);
		const vars = await call("POST", "/v1/messages", key, {
			audience: { users: ["ann"] },
			content: { type: "text", body: "no braces" },
			variables: { a: 1 },
		});
		expect(vars.status).toBe(400);
	});

	it("an automation's inline message renders the event and the user", async () => {
		const { key } = await newApp();
		await call("POST", "/v1/automations", key, {
			name: "ship",
			trigger: { event: "shipped" },
			message: { content: { type: "text", body: "Parcel {{event.properties.parcel}} for {{user.id}}" } },
		});
		const s = await TestSocket.open(await clientToken(key, "cy"), "d");
		await s.hello(0);
		await call("POST", "/v1/events", key, { user_id: "cy", name: "shipped", properties: { parcel: "P-9" } });
		expect(await s.next((f) => f.type === "message", 0, 10_000)).toMatchObject({ content: { body: "Parcel P-9 for cy" } });
		s.close();
		const bad = await call("POST", "/v1/automations", key, {
			name: "bad",
			trigger: { event: "shipped" },
			message: { content: { type: "text", body: "Hi {{usr.id}}" } },
		});
		expect(bad.status).toBe(400);
		expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(["message.content.body"]);
	});
});
