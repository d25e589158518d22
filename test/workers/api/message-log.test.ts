import { describe, expect, it } from "vitest";
import { eventually, TestSocket, text } from "../delivery/helpers.js";
import { call, clientToken, newApp } from "../http.js";
import { expectError } from "./helpers.js";

describe("the message log: GET /v1/messages", () => {
	it("pages newest first and filters by status, audience, template, schedule, dates and id or idempotency key", async () => {
		const { key } = await newApp();
		const ids: string[] = [];
		for (let i = 0; i < 5; i++) {
			const r = await call("POST", "/v1/messages", key, { audience: { users: [`u${i}`] }, content: text(`m${i}`) });
			ids.push(r.body.id);
		}
		const keyed = await call("POST", "/v1/messages", key, {
			audience: { users: ["k"] },
			content: { type: "text", title: "T", body: "keyed" },
			options: { idempotency_key: "order-42", category: "orders" },
		});
		await call("POST", "/v1/tags/t/users", key, { add: ["a"] });
		const broadcast = await call("POST", "/v1/messages", key, { audience: { tags: { any: ["t"] } }, content: text("b") });
		await call("DELETE", `/v1/messages/${ids[1]}`, key);

		const first = await call("GET", "/v1/messages?limit=3", key);
		expect(first.status).toBe(200);
		expect(first.body.messages.map((m: { id: string }) => m.id)).toEqual([broadcast.body.id, keyed.body.id, ids[4]]);
		expect(first.body.messages[1]).toMatchObject({
			status: "done",
			audience_kind: "users",
			users: 1,
			content: { type: "text", title: "T", body: "keyed" },
			category: "orders",
			idempotency_key: "order-42",
			source: null,
		});
		const second = await call("GET", `/v1/messages?limit=3&cursor=${first.body.next_cursor}`, key);
		const third = await call("GET", `/v1/messages?limit=3&cursor=${second.body.next_cursor}`, key);
		expect([...second.body.messages, ...third.body.messages].map((m: { id: string }) => m.id)).toEqual([
			ids[3],
			ids[2],
			ids[1],
			ids[0],
		]);
		expect(third.body.next_cursor).toBeNull();

		const list = async (q: string) =>
			(await call("GET", `/v1/messages?${q}`, key)).body.messages.map((m: { id: string }) => m.id);
		expect(await list("status=recalled")).toEqual([ids[1]]);
		expect(await list("audience=tags")).toEqual([broadcast.body.id]);
		expect(await list("q=order-42")).toEqual([keyed.body.id]);
		expect(await list("user_id=u3")).toEqual([ids[3]]);
		expect(await list("user_id=a")).toEqual([]);
		expect(await list("tag=t")).toEqual([broadcast.body.id]);
		expect(await list("tag=u3")).toEqual([]);
		expect(await list(`q=${ids[2]}`)).toEqual([ids[2]]);
		expect(await list(`from=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
		expect(await list("schedule_id=sch_nope")).toEqual([]);
		// A message an automation sent names it; the automation filter finds exactly that one.
		const auto = await call("POST", "/v1/automations", key, {
			name: "welcome",
			trigger: { event: "signed_up" },
			message: { content: text("welcome") },
		});
		expect(auto.status, auto.text).toBe(201);
		expect((await call("POST", "/v1/events", key, { events: [{ user_id: "newbie", name: "signed_up" }] })).status).toBe(202);
		const fromAutomation = await eventually(
			() => call("GET", `/v1/messages?automation_id=${auto.body.id}`, key),
			(r) => r.body.messages.length === 1,
		);
		expect(fromAutomation.body.messages[0]).toMatchObject({ source: { kind: "automation", id: auto.body.id }, users: 1 });
		await eventually(
			() => list("status=done&audience=tags"),
			(v) => v.length === 1,
		);

		expectError(await call("GET", "/v1/messages?status=lost", key), 400, "invalid_request");
		expectError(await call("GET", "/v1/messages?limit=1000", key), 400, "invalid_request");
		expectError(await call("GET", "/v1/messages?cursor=!!", key), 400, "invalid_request");
		const other = await newApp();
		expect((await call("GET", "/v1/messages", other.key)).body.messages).toEqual([]);
	});

	it("shows a message's funnel by channel", async () => {
		const { key } = await newApp();
		const s = await TestSocket.open(await clientToken(key, "f"), "d");
		await s.hello(0);
		const sent = await call("POST", "/v1/messages", key, { audience: { users: ["f", "g"] }, content: text("x") });
		await s.next((f) => f.type === "message");
		s.send({ type: "event", id: sent.body.id, name: "opened" });
		await s.settle();
		const m = await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.counts.opened === 1,
		);
		expect(m.body.funnel).toEqual({
			targeted: 2,
			delivered: 1,
			opened: 1,
			clicked: 0,
			by_channel: { websocket: { targeted: 2, delivered: 1 } },
		});
		s.close();
	});
});

describe("a message's recipients: GET /v1/messages/{id}/recipients", () => {
	async function collect(key: string, id: string, limit: number) {
		const seen: { user_id: string; status: string; devices: unknown[] }[] = [];
		let cursor: string | null = null;
		let pages = 0;
		do {
			const r = await call("GET", `/v1/messages/${id}/recipients?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, key);
			expect(r.status, r.text).toBe(200);
			expect(r.body.recipients.length).toBeLessThanOrEqual(limit);
			seen.push(...r.body.recipients);
			cursor = r.body.next_cursor;
			pages++;
		} while (cursor && pages < 100);
		return seen;
	}

	it("pages a broadcast over every shard exactly once, and a users message in audience order", async () => {
		const { appId, key } = await newApp();
		const users = Array.from({ length: 45 }, (_, i) => `r${String(i).padStart(2, "0")}`);
		await call("POST", "/v1/tags/everyone/users", key, { add: users });
		// Four shards: the listing crosses from one to the next.
		expect((await call("PUT", `/v1/apps/${appId}/shards`, "test-admin-token", { count: 4 })).status).toBe(200);
		const online = await TestSocket.open(await clientToken(key, "r07"), "d");
		await online.hello(0);
		const sent = await call("POST", "/v1/messages", key, { audience: { tags: { any: ["everyone"] } }, content: text("all") });
		await online.next((f) => f.type === "message");
		await eventually(
			() => call("GET", `/v1/messages/${sent.body.id}`, key),
			(r) => r.body.status === "done",
		);
		const listed = await collect(key, sent.body.id, 7);
		expect(listed.map((r) => r.user_id).sort()).toEqual(users);
		expect(listed.find((r) => r.user_id === "r07")).toMatchObject({ status: "delivered", devices: [] });
		expect(listed.filter((r) => r.status === "queued")).toHaveLength(44);

		const direct = await call("POST", "/v1/messages", key, {
			audience: { users: ["r03", "r01", "r07", "r02"] },
			content: text("d"),
		});
		const page = await call("GET", `/v1/messages/${direct.body.id}/recipients?limit=3`, key);
		expect(page.body.recipients.map((r: { user_id: string }) => r.user_id)).toEqual(["r03", "r01", "r07"]);
		const rest = await call("GET", `/v1/messages/${direct.body.id}/recipients?limit=3&cursor=${page.body.next_cursor}`, key);
		expect(rest.body.recipients.map((r: { user_id: string }) => r.user_id)).toEqual(["r02"]);
		expect(rest.body.next_cursor).toBeNull();

		// A broadcast's cursor means nothing for a users message, and made-up cursors are refused.
		const first = await call("GET", `/v1/messages/${sent.body.id}/recipients?limit=2`, key);
		expectError(
			await call("GET", `/v1/messages/${direct.body.id}/recipients?cursor=${first.body.next_cursor}`, key),
			400,
			"invalid_request",
		);
		expectError(await call("GET", `/v1/messages/${sent.body.id}/recipients?cursor=bm9wZQ`, key), 400, "invalid_request");
		expectError(await call("GET", `/v1/messages/${sent.body.id}/recipients?limit=201`, key), 400, "invalid_request");
		const other = await newApp();
		expectError(await call("GET", `/v1/messages/${sent.body.id}/recipients`, other.key), 404, "not_found");
		online.close();
	});
});
