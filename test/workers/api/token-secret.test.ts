/**
 * Rotating an app's client-token signing secret: tokens name their secret (`kid`); tokens of the
 * replaced secret keep verifying during the overlap the operator chose, then are refused; tokens
 * of the secret before that are refused at once.
 */
import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { resealSecrets } from "../../../core/credentials/rotate.js";
import { connectRequest } from "../delivery/helpers.js";
import { ADMIN, call, clientToken, newApp } from "../http.js";
import { expectError, rotatedKeyEnv } from "./helpers.js";

async function connects(token: string) {
	const res = await connectRequest({ token, device: "d" });
	res.webSocket?.accept();
	res.webSocket?.close(1000, "bye");
	return res.status === 101;
}

describe("rotating the client-token signing secret", () => {
	it("keeps the replaced secret's tokens working for the overlap, and no longer", async () => {
		const { appId, key } = await newApp();
		const first = await clientToken(key, "ray");
		expect(decodeProtectedHeader(first).kid).toBe("k1");

		const r1 = await call("POST", `/v1/apps/${appId}/token-secret/rotate`, ADMIN, { overlap_seconds: 3600 });
		expect(r1.status).toBe(200);
		expect(r1.body).toMatchObject({ kid: "k2", previous_kid: "k1" });
		expect(Date.parse(r1.body.previous_valid_until)).toBeGreaterThan(Date.now() + 3500_000);
		const second = await clientToken(key, "ray");
		expect(decodeProtectedHeader(second).kid).toBe("k2");
		expect(await connects(first)).toBe(true); // within the overlap
		expect(await connects(second)).toBe(true);

		// No overlap this time: the k2 tokens stop at once, and k1 is two rotations old.
		const r2 = await call("POST", `/v1/apps/${appId}/token-secret/rotate`, ADMIN, { overlap_seconds: 0 });
		expect(r2.body).toMatchObject({ kid: "k3", previous_kid: "k2" });
		expect(await connects(first)).toBe(false);
		expect(await connects(second)).toBe(false);
		expect(await connects(await clientToken(key, "ray"))).toBe(true);
	});

	it("survives an ENCRYPTION_KEY rotation: the replaced secret is re-sealed too", async () => {
		const { appId, key } = await newApp();
		const before = await clientToken(key, "sue");
		await call("POST", `/v1/apps/${appId}/token-secret/rotate`, ADMIN, {});
		const rotated = rotatedKeyEnv();
		await resealSecrets(rotated);
		const row = await env.DB.prepare("SELECT previous_token_secret AS p FROM apps WHERE id = ?")
			.bind(appId)
			.first<{ p: string }>();
		expect(JSON.parse(row?.p ?? "{}").v).toBe(2);
		expect(before.length).toBeGreaterThan(0);
	});

	it("answers 404 for an unknown app, 400 for a bad overlap, 401 without the admin token", async () => {
		const { appId, key } = await newApp();
		expectError(await call("POST", "/v1/apps/app_nope/token-secret/rotate", ADMIN, {}), 404, "not_found");
		expectError(
			await call("POST", `/v1/apps/${appId}/token-secret/rotate`, ADMIN, { overlap_seconds: -1 }),
			400,
			"invalid_request",
		);
		expectError(
			await call("POST", `/v1/apps/${appId}/token-secret/rotate`, ADMIN, { overlap_seconds: 31 * 86400 }),
			400,
			"invalid_request",
		);
		expectError(await call("POST", `/v1/apps/${appId}/token-secret/rotate`, key, {}), 401, "unauthorized");
	});
});
