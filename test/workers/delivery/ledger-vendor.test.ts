/**
 * A message's vendor outcomes in its ledger: a push job's sent devices are one stored row whatever
 * the job's size, a repeated report of the job counts nothing twice, and every device's outcome can
 * still be read per recipient (the recipients listing and the device view).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { VendorResult } from "../../../core/ledger/types.js";
import type { MessageLedger } from "../../../durable-objects/ledger/message-ledger.js";

function ledger() {
	return env.LEDGER.get(env.LEDGER.idFromName(`app_ledger_${crypto.randomUUID()}/msg_${crypto.randomUUID()}`));
}

const sent = (from: number, n: number, device = "phone"): VendorResult[] =>
	Array.from({ length: n }, (_, i) => ({ userId: `u${String(from + i).padStart(5, "0")}`, deviceId: device, outcome: "sent" }));

async function storedRows(stub: ReturnType<typeof ledger>) {
	return runInDurableObject(stub, (_: MessageLedger, state) => ({
		perDevice: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM vendor").one().n,
		perJob: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM vendor_sent").one().n,
	}));
}

describe("vendor outcomes in the message ledger", () => {
	it("stores a 1,000-device job's sends as one row and counts each device once, however often the job reports", async () => {
		const stub = ledger();
		const job = sent(0, 1000);
		await stub.recordVendor("oppo", job);
		await stub.recordVendor("oppo", job); // a redelivered queue message reports the same job again
		expect(await storedRows(stub)).toEqual({ perDevice: 0, perJob: 1 });
		const counts = (await stub.summary()).counts.by_channel;
		expect(counts.oppo).toEqual({ sent: 1000, failed: 0, invalid_token: 0, quota_exceeded: 0 });
	});

	it("keeps failures and receipt-tracked sends per device, and sums them with the jobs' sends by channel", async () => {
		const stub = ledger();
		await stub.recordVendor("vivo", [
			...sent(0, 3),
			{ userId: "u00003", deviceId: "phone", outcome: "invalid_token", reason: "vivo 10302" },
			{ userId: "u00004", deviceId: "phone", outcome: "quota_exceeded", reason: "daily limit" },
			{ userId: "u00005", deviceId: "phone", outcome: "sent", token: "tok-5" },
		]);
		await stub.recordVendor("honor", sent(0, 2));
		expect(await storedRows(stub)).toEqual({ perDevice: 3, perJob: 2 });
		const counts = (await stub.summary()).counts.by_channel;
		expect(counts.vivo).toEqual({ sent: 4, failed: 0, invalid_token: 1, quota_exceeded: 1 });
		expect(counts.honor).toEqual({ sent: 2, failed: 0, invalid_token: 0, quota_exceeded: 0 });
	});

	it("answers each recipient's devices from the jobs that reached them, channel by channel", async () => {
		const stub = ledger();
		await stub.recordVendor("oppo", sent(0, 500));
		await stub.recordVendor("oppo", sent(500, 500));
		await stub.recordVendor("meizu", sent(250, 500, "tablet"));
		await stub.recordVendor("meizu", [{ userId: "u00001", deviceId: "tablet", outcome: "failed", reason: "meizu 110002" }]);

		const one = await stub.vendorOutcomes("u00600");
		expect(one.map((d) => [d.channel, d.device_id, d.outcome])).toEqual([
			["meizu", "tablet", "sent"],
			["oppo", "phone", "sent"],
		]);
		expect(Number.isNaN(Date.parse(one[0]!.at))).toBe(false);

		const page = await stub.vendorOutcomesOf(["u00001", "u00499", "u00999", "nobody"]);
		expect(Object.keys(page).sort()).toEqual(["u00001", "u00499", "u00999"]);
		expect(page.u00001!.map((d) => [d.channel, d.outcome, d.reason])).toEqual([
			["meizu", "failed", "meizu 110002"],
			["oppo", "sent", null],
		]);
		expect(page.u00499!.map((d) => d.channel)).toEqual(["meizu", "oppo"]);
		expect(page.u00999!.map((d) => d.channel)).toEqual(["oppo"]);
	});
});
