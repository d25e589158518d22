/**
 * An idempotency key never swallows a message: when the first call fails after the message was
 * recorded (D1 failing while the recipients' zones are read, here), the caller's retry with the
 * same key finishes the delivery instead of answering "replayed" for a message nobody got.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { acceptMessage } from "../../../core/messages/accept.js";
import { inboxFor } from "../../../core/objects/shard.js";
import { call, newApp } from "../http.js";
import { flakyD1 } from "./helpers.js";

describe("idempotency keys and failed deliveries", () => {
	it("a retry with the same key delivers a direct message whose first attempt failed after it was recorded", async () => {
		const { appId, key } = await newApp();
		// Quiet hours far from now: every send reads the recipients' zones (and nobody is held).
		const hour = (new Date().getUTCHours() + 12) % 24;
		const at = (h: number) => `${String(h % 24).padStart(2, "0")}:00`;
		await call("PATCH", "/v1/settings", key, { quiet_hours: { start: at(hour), end: at(hour + 1), action: "hold" } });
		const body = {
			audience: { users: ["ivy", "jon"] },
			content: { type: "text" as const, body: "exactly once" },
			options: { idempotency_key: "order-42", channels: "ws" as const },
		};
		const broken = flakyD1(/"timezone"/, 0, Number.POSITIVE_INFINITY);
		await expect(acceptMessage(broken, appId, body)).rejects.toThrow(/injected outage/);
		for (const u of ["ivy", "jon"]) expect(await inboxFor(env, appId, u).stats()).toEqual({ seq: 0, held: 0 });

		const retry = await call("POST", "/v1/messages", key, body);
		expect(retry.status).toBe(200); // a replay of the recorded message…
		for (const u of ["ivy", "jon"]) expect(await inboxFor(env, appId, u).stats()).toEqual({ seq: 1, held: 1 }); // …now delivered
		const again = await call("POST", "/v1/messages", key, body);
		expect(again.body.id).toBe(retry.body.id);
		for (const u of ["ivy", "jon"]) expect(await inboxFor(env, appId, u).stats()).toEqual({ seq: 1, held: 1 }); // and only once
	});
});
