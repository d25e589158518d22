/**
 * Channel id → channel. Each channel is a plain object with no state, so one registry serves every
 * app; per-app state (credentials, access tokens) travels in the SendContext.
 */
import { apnsChannel } from "./apns/index.js";
import { fcmChannel } from "./fcm/index.js";
import { hmsChannel } from "./hms/index.js";
import { honorChannel } from "./honor/index.js";
import { meizuChannel } from "./meizu/index.js";
import { oppoChannel } from "./oppo/index.js";
import type { Channel, VendorChannelId } from "./types.js";
import { vivoChannel } from "./vivo/index.js";
import { webPushChannel } from "./webpush/index.js";
import { xiaomiChannel } from "./xiaomi/index.js";

// biome-ignore lint/suspicious/noExplicitAny: each entry has its own credential type
export const channels: Record<VendorChannelId, Channel<any>> = {
	apns: apnsChannel,
	fcm: fcmChannel,
	hms: hmsChannel,
	xiaomi: xiaomiChannel,
	webpush: webPushChannel,
	oppo: oppoChannel,
	vivo: vivoChannel,
	honor: honorChannel,
	meizu: meizuChannel,
};

export const vendorChannelIds = Object.keys(channels) as VendorChannelId[];

export function isVendorChannelId(id: string): id is VendorChannelId {
	return Object.hasOwn(channels, id);
}

// biome-ignore lint/suspicious/noExplicitAny: see channels
export function channelFor(id: VendorChannelId): Channel<any>;
// biome-ignore lint/suspicious/noExplicitAny: see channels
export function channelFor(id: string): Channel<any> | undefined;
// biome-ignore lint/suspicious/noExplicitAny: see channels
export function channelFor(id: string): Channel<any> | undefined {
	return isVendorChannelId(id) ? channels[id] : undefined;
}
