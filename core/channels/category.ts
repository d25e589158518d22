/**
 * Message classification: Warbler's `options.category` → each vendor's own field. The vendors split
 * messages into "service & communication" (system, transactional: unlimited) and "content &
 * marketing" (operational: capped per device per day, vivo only 7:00–23:00); the finer categories
 * are the ones OPPO, vivo and Huawei share since their 2023 self-classification rules (IM, ACCOUNT,
 * ORDER, TODO, DEVICE_REMINDER, SUBSCRIPTION vs NEWS, CONTENT, MARKETING, SOCIAL). Any other
 * category string (an app's own, used for frequency caps) falls back to the app default, then to
 * `marketing`, which is what the vendors assume of an unclassified message.
 */

export type MessageClass = "transactional" | "marketing";

/** Finer categories, lower-case in Warbler, and the class each belongs to. */
export const VENDOR_CATEGORIES: Readonly<Record<string, MessageClass>> = {
	transactional: "transactional",
	marketing: "marketing",
	// Service & communication (system messages).
	im: "transactional",
	voip: "transactional",
	account: "transactional",
	order: "transactional",
	todo: "transactional",
	device_reminder: "transactional",
	subscription: "transactional",
	travel: "transactional",
	health: "transactional",
	work: "transactional",
	express: "transactional",
	finance: "transactional",
	mail: "transactional",
	// Content & marketing (operational messages).
	news: "marketing",
	content: "marketing",
	social: "marketing",
};

/** Known Warbler category, or undefined for an app's own label. */
export function knownCategory(category: string | undefined): string | undefined {
	const c = category?.toLowerCase();
	return c && Object.hasOwn(VENDOR_CATEGORIES, c) ? c : undefined;
}

/** Transactional or marketing: the class every quota and vendor field turns on. */
export function messageClass(category: string | undefined, appDefault?: string): MessageClass {
	const c = knownCategory(category) ?? knownCategory(appDefault);
	return c ? (VENDOR_CATEGORIES[c] as MessageClass) : "marketing";
}

/** Huawei Push Kit `android.category` (self-classification): the service categories, and MARKETING. */
const HMS_CATEGORIES = new Set([
	"im",
	"voip",
	"subscription",
	"travel",
	"health",
	"work",
	"account",
	"express",
	"finance",
	"device_reminder",
	"mail",
]);
export function hmsCategory(category: string | undefined): string | undefined {
	const c = knownCategory(category);
	if (!c) return undefined;
	if (HMS_CATEGORIES.has(c)) return c.toUpperCase();
	return VENDOR_CATEGORIES[c] === "marketing" ? "MARKETING" : undefined;
}

/** OPPO and vivo `category` (new classification): their shared ten values. */
const OPPO_VIVO_CATEGORIES = new Set([
	"im",
	"account",
	"device_reminder",
	"order",
	"todo",
	"subscription",
	"news",
	"content",
	"marketing",
	"social",
]);
export function oppoVivoCategory(category: string | undefined): string | undefined {
	const c = knownCategory(category);
	return c && OPPO_VIVO_CATEGORIES.has(c) ? c.toUpperCase() : undefined;
}

/**
 * A vendor channel id registered in that vendor's console for this category (OPPO private/public
 * channel, Xiaomi channel_id): the exact category first, then its class.
 */
export function channelIdFor(
	channelIds: Readonly<Record<string, string>> | undefined,
	category: string | undefined,
): string | undefined {
	if (!channelIds) return undefined;
	const c = knownCategory(category) ?? category;
	return (c && channelIds[c]) || channelIds[messageClass(category)];
}
