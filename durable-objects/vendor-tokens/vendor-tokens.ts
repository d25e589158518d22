import { DurableObject } from "cloudflare:workers";
import { sealSecret, unsealSecret } from "../../core/auth/keyring.js";
import { vendorEndpoints } from "../../core/channels/endpoints.js";
import { channelFor } from "../../core/channels/registry.js";
import type { VendorChannelId } from "../../core/channels/types.js";
import { loadCredentials, recordTokenStatus } from "../../core/credentials/store.js";
import { admitMarketing, type QuotaRequest } from "../../core/objects/vendor-quota-store.js";
import { type CachedToken, CachedTokenJson } from "../../core/objects/vendor-tokens.js";
import { errorText } from "../../core/util/errors.js";

/** Refresh this long before a token's end, so no send carries one that expires in flight. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** A forced refresh right after a refresh is a stampede, not a fix (APNs answers 429 to those). */
const MIN_FORCED_REFRESH_GAP_MS = 10_000;

/**
 * One per app: mints and caches vendor access tokens (APNs provider JWT, FCM, HMS and Honor OAuth
 * tokens, OPPO auth_token, vivo authToken) so every isolate shares one token per channel and
 * refreshes stay inside the vendors' limits; also keeps the app's vendor-quota counters.
 * Concurrent callers share one in-flight refresh. Tokens are sealed before they touch storage.
 */
export class VendorTokens extends DurableObject<Env> {
	private readonly memory = new Map<VendorChannelId, CachedToken>();
	private readonly inflight = new Map<VendorChannelId, Promise<CachedToken>>();
	/** Bumped by invalidate(): a mint that started before new credentials arrived is not cached. */
	private readonly generation = new Map<VendorChannelId, number>();

	async token(appId: string, channel: VendorChannelId, forceRefresh = false): Promise<string> {
		const now = Date.now();
		const cached = this.memory.get(channel) ?? (await this.fromStorage(channel));
		const fresh = cached && cached.expiresAt - REFRESH_MARGIN_MS > now;
		const recentlyMinted = cached && now - cached.mintedAt < MIN_FORCED_REFRESH_GAP_MS;
		if (cached && fresh && (!forceRefresh || recentlyMinted)) return cached.token;
		let pending = this.inflight.get(channel);
		if (!pending) {
			pending = this.mint(appId, channel).finally(() => this.inflight.delete(channel));
			this.inflight.set(channel, pending);
		}
		return (await pending).token;
	}

	/** New credentials were uploaded: the next send mints with them. */
	async invalidate(channel: VendorChannelId): Promise<void> {
		this.generation.set(channel, (this.generation.get(channel) ?? 0) + 1);
		this.memory.delete(channel);
		await this.ctx.storage.delete(`token:${channel}`);
	}

	/** Vendor quotas (settings.vendor_quotas): the job's devices that may get this marketing push today. */
	async admitMarketing(req: QuotaRequest): Promise<string[]> {
		return admitMarketing(this.ctx.storage.sql, req);
	}

	/** How many tokens were minted per channel (observability; the tests count refreshes with it). */
	async mints(): Promise<Record<string, number>> {
		return (await this.ctx.storage.get<Record<string, number>>("mints")) ?? {};
	}

	private async mint(appId: string, channel: VendorChannelId, tries = 0): Promise<CachedToken> {
		const generation = this.generation.get(channel) ?? 0;
		const impl = channelFor(channel);
		if (!impl.mintAccessToken) throw new Error(`${channel} has no access tokens`);
		const creds = await loadCredentials(this.env, appId, channel);
		if (!creds) throw new Error(`no ${channel} credentials for this app`);
		try {
			const minted = await impl.mintAccessToken(creds, vendorEndpoints(this.env), fetch);
			// New credentials arrived while this one was minted with the old: mint again with them.
			if ((this.generation.get(channel) ?? 0) !== generation && tries < 3) return this.mint(appId, channel, tries + 1);
			const cached: CachedToken = { ...minted, mintedAt: Date.now() };
			this.memory.set(channel, cached);
			await this.ctx.storage.put(`token:${channel}`, await sealSecret(this.env, CachedTokenJson.stringify(cached)));
			const mints = await this.mints();
			mints[channel] = (mints[channel] ?? 0) + 1;
			await this.ctx.storage.put("mints", mints);
			await recordTokenStatus(this.env, appId, channel, { refreshedAt: cached.mintedAt, expiresAt: cached.expiresAt });
			return cached;
		} catch (err) {
			const message = errorText(err);
			await recordTokenStatus(this.env, appId, channel, { error: message.slice(0, 300) });
			throw err;
		}
	}

	private async fromStorage(channel: VendorChannelId): Promise<CachedToken | undefined> {
		const sealed = await this.ctx.storage.get<string>(`token:${channel}`);
		if (!sealed) return undefined;
		let cached: CachedToken;
		try {
			cached = CachedTokenJson.parse(await unsealSecret(this.env, sealed));
		} catch {
			// Sealed under a key that has since been rotated out: mint a new one instead.
			return undefined;
		}
		this.memory.set(channel, cached);
		return cached;
	}
}
