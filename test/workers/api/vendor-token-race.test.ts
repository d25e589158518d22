import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { channels } from "../../../core/channels/registry.js";
import { vendorTokensFor } from "../../../core/objects/vendor-tokens.js";
import type { VendorTokens } from "../../../durable-objects/vendor-tokens/vendor-tokens.js";
import { call, newApp } from "../http.js";
import { jwtPayload } from "./helpers.js";

async function p8(): Promise<string> {
	const { privateKey } = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
		"sign",
	])) as CryptoKeyPair;
	const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", privateKey)) as ArrayBuffer);
	let bin = "";
	for (const b of der) bin += String.fromCharCode(b);
	return `-----BEGIN PRIVATE KEY-----\n${btoa(bin)}\n-----END PRIVATE KEY-----`;
}

const apns = async (key_id: string) => ({
	team_id: "TEAM123456",
	key_id,
	private_key: await p8(),
	bundle_id: "com.example.app",
	environment: "sandbox",
});

/** The key id in an APNs provider token's header: which credentials minted it. */
function kid(token: string): string {
	return JSON.parse(atob(token.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))).kid;
}

describe("vendor tokens and credential changes (issue 10, finding 5)", () => {
	it("a token minted with the old credentials while new ones are uploaded is never cached or handed out", async () => {
		const { appId, key } = await newApp();
		expect((await call("PUT", "/v1/credentials/apns", key, await apns("OLDKEY0001"))).status).toBe(200);
		const stub = vendorTokensFor(env, appId);

		// Hold the next mint after it has read the old credentials, upload new ones meanwhile, then let it finish.
		const mint = channels.apns.mintAccessToken!;
		let release!: () => void;
		const held = new Promise<void>((r) => {
			release = r;
		});
		let started!: () => void;
		const reading = new Promise<void>((r) => {
			started = r;
		});
		let calls = 0;
		channels.apns.mintAccessToken = async (...args) => {
			calls++;
			if (calls === 1) {
				started();
				await held;
			}
			return mint(...args);
		};
		try {
			const token = await runInDurableObject(stub, async (instance: VendorTokens) => {
				const pending = instance.token(appId, "apns");
				await reading;
				const put = await call("PUT", "/v1/credentials/apns", key, await apns("NEWKEY0002"));
				expect(put.status).toBe(200);
				release();
				return pending;
			});
			expect(kid(token)).toBe("NEWKEY0002");
			expect(jwtPayload(token).iss).toBe("TEAM123456");
			// The stale mint was redone with the new key, and what is cached is the new key's token.
			expect(calls).toBe(2);
			expect(kid(await stub.token(appId, "apns"))).toBe("NEWKEY0002");
			expect(calls).toBe(2);
		} finally {
			channels.apns.mintAccessToken = mint;
		}
	});
});
