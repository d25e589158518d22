/**
 * Names that are also properties of every JavaScript object ("constructor", "toString",
 * "__proto__") are ordinary names here: as device ids they register, receive, ack and resume like
 * any other; as filter attributes they select exactly the users whose attribute matches.
 */
import { describe, expect, it } from "vitest";
import { eventually, TestSocket, text } from "../delivery/helpers.js";
import { call, clientToken, newApp } from "../http.js";

const NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty"];

describe("prototype property names", () => {
	it("work as device ids: each device gets every message once, acks, resumes, and can be removed", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "proto-user");
		const sockets = new Map<string, TestSocket>();
		for (const name of NAMES) {
			const s = await TestSocket.open(token, name);
			expect(await s.hello(0)).toMatchObject({ type: "welcome", device_id: name, seq: 0 });
			sockets.set(name, s);
		}
		const sent = await call("POST", "/v1/messages", key, { audience: { users: ["proto-user"] }, content: text("one") });
		expect(sent.status).toBe(202);
		for (const s of sockets.values()) {
			expect(await s.next((f) => f.type === "message")).toMatchObject({ id: sent.body.id, seq: 1 });
			s.send({ type: "ack", seq: 1 });
			await s.settle();
			s.close();
		}
		// Every device acked: a second message is the only one any of them resumes with.
		const second = await call("POST", "/v1/messages", key, { audience: { users: ["proto-user"] }, content: text("two") });
		for (const name of NAMES) {
			const s = await TestSocket.open(token, name);
			await s.hello(1);
			await s.settle();
			expect(s.messages().map((m) => [m.id, m.seq])).toEqual([[second.body.id, 2]]);
			s.close();
		}
		const user = await call("GET", "/v1/users/proto-user", key);
		expect(user.body.devices.map((d: { id: string }) => d.id).sort()).toEqual([...NAMES].sort());
		expect((await call("DELETE", "/v1/users/proto-user/devices/constructor", key)).status).toBe(204);
		const after = await call("GET", "/v1/users/proto-user", key);
		expect(after.body.devices.map((d: { id: string }) => d.id)).not.toContain("constructor");
	});

	it("work as filter attributes: a broadcast reaches exactly the users whose attribute matches", async () => {
		const { key } = await newApp();
		// Bodies refuse a __proto__ key, so attributes never hold one, and a filter cannot name one.
		const names = NAMES.filter((n) => n !== "__proto__");
		const proto = await call("POST", "/v1/messages", key, {
			audience: { filter: { attr: "a.__proto__", op: "exists" } },
			content: text("x"),
		});
		expect(proto.status).toBe(400);
		expect(proto.body.error.details.map((d: { path: string }) => d.path)).toContain("audience.filter.attr");
		for (const [i, name] of names.entries()) {
			const put = await call("PUT", `/v1/users/match-${i}`, key, { attributes: { [name]: "yes" } });
			expect(put.status, `${name}: ${JSON.stringify(put.body)}`).toBeLessThan(300);
			expect((await call("PUT", `/v1/users/other-${i}`, key, { attributes: { [name]: "no" } })).status).toBeLessThan(300);
		}
		for (const [i, name] of names.entries()) {
			const sent = await call("POST", "/v1/messages", key, {
				audience: { filter: { attr: name, op: "eq", value: "yes" } },
				content: text(name),
			});
			expect(sent.status, name).toBe(202);
			const done = await eventually(
				() => call("GET", `/v1/messages/${sent.body.id}`, key),
				(r) => r.body.status === "done",
			);
			expect(done.body.counts.targeted, name).toBe(1);
			expect((await call("GET", `/v1/messages/${sent.body.id}/recipients/match-${i}`, key)).status, name).toBe(200);
		}
	});
});
