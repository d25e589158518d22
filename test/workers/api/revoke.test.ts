/**
 * Client tokens can be revoked: POST /v1/users/{id}/tokens/revoke refuses every token of the user
 * minted before it (401 at connect) and closes the sockets they opened; tokens minted afterwards
 * work. Deleting a user revokes the same way, and a client token never brings a user back.
 */
import { describe, expect, it } from "vitest";
import { connectRequest, TestSocket } from "../delivery/helpers.js";
import { call, clientToken, newApp, newKey } from "../http.js";
import { expectError } from "./helpers.js";

async function connectStatus(token: string, device: string) {
	const res = await connectRequest({ token, device });
	if (res.webSocket) {
		res.webSocket.accept();
		res.webSocket.close(1000, "bye");
	}
	return { status: res.status, body: res.status === 101 ? undefined : await res.json<{ error: { code: string } }>() };
}

describe("revoking client tokens", () => {
	it("refuses tokens minted before the revocation, closes their sockets, and accepts tokens minted after", async () => {
		const { key } = await newApp();
		const old = await clientToken(key, "rita");
		const socket = await TestSocket.open(old, "phone");
		await socket.hello(0);

		const revoked = await call("POST", "/v1/users/rita/tokens/revoke", key);
		expect(revoked.status).toBe(200);
		expect(revoked.body.user_id).toBe("rita");
		expect(Date.parse(revoked.body.revoked_before)).toBeLessThanOrEqual(Date.now());

		expect(await socket.waitClosed()).toMatchObject({ code: 4001 });
		const refused = await connectStatus(old, "phone");
		expect(refused.status).toBe(401);
		expect(refused.body?.error.code).toBe("unauthorized");
		expect((await connectStatus(old, "tablet")).status).toBe(401);

		// Minted right after (the same second, even): works, and a message reaches it.
		const fresh = await clientToken(key, "rita");
		const again = await TestSocket.open(fresh, "phone");
		await again.hello(0);
		const sent = await call("POST", "/v1/messages", key, {
			audience: { users: ["rita"] },
			content: { type: "text", body: "hi" },
		});
		expect(await again.next((f) => f.type === "message")).toMatchObject({ id: sent.body.id });
		again.close();
	});

	it("deleting a user revokes their tokens: an old token neither connects nor re-creates the user or a device", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "dora");
		const socket = await TestSocket.open(token, "phone");
		await socket.hello(0);
		expect((await call("DELETE", "/v1/users/dora", key)).status).toBe(204);
		expect((await socket.waitClosed()).code).toBe(4502);
		expect((await connectStatus(token, "phone")).status).toBe(401);
		expect((await connectStatus(token, "new-device")).status).toBe(401);
		expectError(await call("GET", "/v1/users/dora", key), 404, "not_found");
		// Brought back by the app: new tokens work again, old ones stay refused.
		expect((await call("PUT", "/v1/users/dora", key, {})).status).toBeLessThan(300);
		expect((await connectStatus(token, "phone")).status).toBe(401);
		expect((await connectStatus(await clientToken(key, "dora"), "phone")).status).toBe(101);
		const user = await call("GET", "/v1/users/dora", key);
		expect(user.body.devices.map((d: { id: string }) => d.id)).toEqual(["phone"]);
	});

	it("needs the manage scope and an existing user", async () => {
		const { appId, key } = await newApp();
		expectError(await call("POST", "/v1/users/nobody/tokens/revoke", key), 404, "not_found");
		await call("PUT", "/v1/users/sam", key, {});
		const send = await newKey(appId, ["send", "read"]);
		expectError(await call("POST", "/v1/users/sam/tokens/revoke", send.secret), 403, "forbidden");
	});
});
