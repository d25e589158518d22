/**
 * The zod schemas of a message (core/messages/schema.ts) against the wire types in protocol/
 * that the SDKs use: checked by `npm run typecheck`, no runtime code. Where the two differ on
 * purpose the difference is pinned too, so closing it shows up here as well.
 */
import type {
	Audience,
	ContentType,
	DeliveryChannels,
	MediaInfo,
	MessageContent,
	MessageOptions,
} from "../../protocol/message.js";
import type { Assert, Equals, Extends } from "../util/type-equality.js";
import type { StoredAudience, StoredContent, StoredOptions } from "./schema.js";

export type ContentTypeMatches = Assert<Equals<StoredContent["type"], ContentType>>;
export type MediaMatches = Assert<Equals<NonNullable<StoredContent["media"]>, MediaInfo>>;
export type OptionsMatch = Assert<Equals<StoredOptions, MessageOptions>>;
export type ChannelsMatch = Assert<Equals<NonNullable<StoredOptions["channels"]>, DeliveryChannels>>;

/**
 * Content: the same fields, but `data` and the vendor passthroughs (`apns`, `fcm`, …) are JSON in
 * the schema and `Record<string, unknown>` in protocol. Every valid content is a MessageContent;
 * not every MessageContent is valid (a Date or a function in `data` is not JSON).
 */
export type ContentFitsProtocol = Assert<Extends<StoredContent, MessageContent>>;
export type ContentFieldsMatch = Assert<Equals<keyof StoredContent, keyof MessageContent>>;
export type ContentDiffersInJson = Assert<Equals<Equals<StoredContent, MessageContent>, false>>;

/** Audience without its `filter`: the same four forms with the same tag rules. */
type WithoutFilter<T> = T extends unknown ? Omit<T, "filter"> : never;
export type AudienceFormsMatch = Assert<Equals<WithoutFilter<StoredAudience>, WithoutFilter<Audience>>>;
/**
 * `filter` is the attribute condition tree (rules/filter.ts) in the schema and an opaque
 * `AudienceFilter = Record<string, unknown>` in protocol; the tree's leaf is an interface, so it is
 * not even assignable to that record. Pinned until protocol describes the tree.
 */
export type AudienceFilterDiffers = Assert<Equals<Extends<StoredAudience, Audience>, false>>;
