/** What the simulator remembers: received deliveries, per-channel counters and queued faults. */
import { randomUUID } from "node:crypto";

export type SimChannel = "apns" | "fcm" | "hms" | "xiaomi" | "webpush" | "oppo" | "vivo" | "honor" | "meizu";
export const CHANNELS: readonly SimChannel[] = ["apns", "fcm", "hms", "xiaomi", "webpush", "oppo", "vivo", "honor", "meizu"];

export type FaultKind =
	| "429"
	| "500"
	| "503"
	| "410"
	| "unregistered"
	| "bad_token"
	| "slow"
	| "auth"
	/** APNs only: answer 429 TooManyProviderTokenUpdates. */
	| "too_many_provider_token_updates"
	/** The vendor's daily-quota answer (OPPO 33, vivo 10070, Honor 80300011, Xiaomi 200001; Meizu 518). */
	| "quota"
	/** OPPO/HMS/Xiaomi/Meizu/vivo: the push succeeds but no receipt is posted (sim/receipts.ts). */
	| "no_receipt";
export const FAULT_KINDS: readonly FaultKind[] = [
	"429",
	"500",
	"503",
	"410",
	"unregistered",
	"bad_token",
	"slow",
	"auth",
	"too_many_provider_token_updates",
	"quota",
	"no_receipt",
];
/** Kinds that describe one token (in a batch they mark that token, not the whole request). */
export const TOKEN_KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>(["410", "unregistered", "bad_token"]);

export interface Fault {
	id: string;
	channel: SimChannel;
	/** Only requests that target this token (for Web Push: the subscription id or endpoint) match. */
	token?: string;
	kind: FaultKind;
	/** How many more requests it applies to; -1 = always. */
	remaining: number;
	retry_after?: number;
	delay_ms?: number;
	created_at: string;
}

export interface Outcome {
	/** HTTP status the simulator answered (for batches: the request's status). */
	status: number;
	/** True when this token was accepted for delivery. */
	ok: boolean;
	/** Vendor reason / code for a failure (e.g. "BadDeviceToken", "UNREGISTERED", "80300007", "bad_regid"). */
	reason?: string;
	/** The injected fault that decided this outcome. */
	fault?: FaultKind;
}

export interface Delivery {
	id: number;
	channel: SimChannel;
	token: string;
	at: string;
	headers: Record<string, string>;
	/** Parsed JSON body (APNs, FCM, HMS), the form fields (Xiaomi) or the decrypted plaintext (Web Push). */
	payload: unknown;
	outcome: Outcome;
	/** Protocol details the vendor tolerates but Warbler should not do (e.g. missing apns-push-type). */
	warnings?: string[];
	/** Web Push only: the subscription's endpoint. */
	endpoint?: string;
}

export interface ChannelStats {
	/** Send requests received (one HTTP request, whatever its batch size). */
	requests: number;
	/** Tokens accepted for delivery. */
	sends: number;
	/** Tokens or requests answered with an error (faults included). */
	failures: number;
	/** FCM/HMS: access tokens issued by the token endpoint; APNs: distinct valid provider JWTs seen. */
	token_refreshes: number;
	/** Requests rejected for credentials (missing/invalid/expired token, bad secret, bad signature). */
	auth_failures: number;
	/** APNs only: new provider JWTs issued less than 20 minutes after the previous one. */
	too_fast_token_refreshes?: number;
	/** OPPO/HMS/Xiaomi/Meizu/vivo: receipts posted (answered 2xx) and receipts whose post failed (sim/receipts.ts). */
	receipts_sent?: number;
	receipt_failures?: number;
	/** Epoch ms of the latest accepted token (benchmarks stop their clock there). */
	last_send_at?: number;
}

const MAX_DELIVERIES = 20_000;

export class SimState {
	deliveries: Delivery[] = [];
	faults: Fault[] = [];
	stats: Record<SimChannel, ChannelStats> = freshStats();
	/** Receipt URLs configured in the vendor's console (HMS AppGallery Connect), by channel. */
	receiptUrls: Partial<Record<SimChannel, string>> = {};
	private nextId = 1;
	private waiters = new Set<() => void>();

	record(entry: Omit<Delivery, "id" | "at">): Delivery {
		const delivery: Delivery = { id: this.nextId++, at: new Date().toISOString(), ...entry };
		this.deliveries.push(delivery);
		if (this.deliveries.length > MAX_DELIVERIES) this.deliveries.splice(0, this.deliveries.length - MAX_DELIVERIES);
		const s = this.stats[entry.channel];
		if (entry.outcome.ok) {
			s.sends++;
			s.last_send_at = Date.now();
		} else if (entry.outcome.reason !== "validate_only") s.failures++;
		for (const wake of [...this.waiters]) wake();
		return delivery;
	}

	query(channel?: string | null, token?: string | null): Delivery[] {
		return this.deliveries.filter(
			(d) => (!channel || d.channel === channel) && (!token || d.token === token || d.endpoint === token),
		);
	}

	/** Resolves when at least `count` deliveries match, or after `waitMs` with whatever matched. */
	async waitFor(channel: string | null, token: string | null, count: number, waitMs: number): Promise<Delivery[]> {
		const deadline = Date.now() + waitMs;
		for (;;) {
			const found = this.query(channel, token);
			const left = deadline - Date.now();
			if (found.length >= count || left <= 0) return found;
			await new Promise<void>((resolve) => {
				const wake = () => {
					clearTimeout(timer);
					this.waiters.delete(wake);
					resolve();
				};
				const timer = setTimeout(wake, left);
				this.waiters.add(wake);
			});
		}
	}

	clearDeliveries(): void {
		this.deliveries = [];
	}

	resetStats(): void {
		this.stats = freshStats();
	}

	addFault(input: Omit<Fault, "id" | "created_at" | "remaining"> & { times?: number }): Fault {
		const { times, ...rest } = input;
		const fault: Fault = { id: randomUUID(), created_at: new Date().toISOString(), remaining: times ?? 1, ...rest };
		this.faults.push(fault);
		return fault;
	}

	/** Takes the first fault matching a single-token request (consumes one use). */
	takeFault(channel: SimChannel, tokens: readonly string[]): Fault | undefined {
		const fault = this.faults.find((f) => f.channel === channel && (f.token === undefined || tokens.includes(f.token)));
		return fault ? this.consume(fault) : undefined;
	}

	/**
	 * For batch vendors (HMS, Xiaomi): token-scoped invalid-token faults mark their token; at most one
	 * other matching fault applies to the whole request.
	 */
	takeBatchFaults(channel: SimChannel, tokens: readonly string[]): { request?: Fault; perToken: Map<string, Fault> } {
		const perToken = new Map<string, Fault>();
		let request: Fault | undefined;
		for (const f of [...this.faults]) {
			if (f.channel !== channel) continue;
			if (f.token !== undefined) {
				if (!tokens.includes(f.token)) continue;
				if (TOKEN_KINDS.has(f.kind)) {
					if (!perToken.has(f.token)) perToken.set(f.token, this.consume(f));
					continue;
				}
			}
			if (!request) request = this.consume(f);
		}
		return request ? { request, perToken } : { perToken };
	}

	private consume(fault: Fault): Fault {
		const copy = { ...fault };
		if (fault.remaining > 0) {
			fault.remaining--;
			if (fault.remaining === 0) this.faults = this.faults.filter((f) => f !== fault);
		}
		return copy;
	}
}

function freshStats(): Record<SimChannel, ChannelStats> {
	const make = (): ChannelStats => ({ requests: 0, sends: 0, failures: 0, token_refreshes: 0, auth_failures: 0 });
	return {
		apns: { ...make(), too_fast_token_refreshes: 0 },
		fcm: make(),
		hms: make(),
		xiaomi: make(),
		webpush: make(),
		oppo: make(),
		vivo: make(),
		honor: make(),
		meizu: make(),
	};
}
