/**
 * The client token can travel as a WebSocket subprotocol (`warbler.v1`, `warbler.token.<token>`)
 * instead of the URL, where it would land in access logs. The server answers `warbler.v1`.
 */
import { describe, expect, it } from "vitest";
import { connectRequest } from "../delivery/helpers.js";
import { clientToken, newApp } from "../http.js";

describe("client token as a WebSocket subprotocol", () => {
	it("connects with the token in Sec-WebSocket-Protocol and answers warbler.v1", async () => {
		const { key } = await newApp();
		const token = await clientToken(key, "hidden");
		const res = await connectRequest({ device: "laptop" }, ["warbler.v1", `warbler.token.${token}`]);
		expect(res.status).toBe(101);
		expect(res.headers.get("sec-websocket-protocol")).toBe("warbler.v1");
		const ws = res.webSocket as WebSocket;
		ws.accept();
		const frames: { type: string; user_id?: string }[] = [];
		ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
		ws.send(JSON.stringify({ type: "hello", last_seq: 0 }));
		for (let i = 0; i < 50 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
		expect(frames[0]).toMatchObject({ type: "welcome", user_id: "hidden" });
		ws.close(1000, "bye");
	});

	it("refuses a bad token in the header (401), and the query form still works without a subprotocol", async () => {
		const { key } = await newApp();
		const bad = await connectRequest({ device: "laptop" }, ["warbler.v1", "warbler.token.not-a-jwt"]);
		expect(bad.status).toBe(401);
		const token = await clientToken(key, "plain");
		const res = await connectRequest({ token, device: "laptop" });
		expect(res.status).toBe(101);
		expect(res.headers.get("sec-websocket-protocol")).toBeNull();
		res.webSocket?.accept();
		res.webSocket?.close(1000, "bye");
	});
});
