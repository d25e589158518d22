/**
 * The response schemas of workers/schemas/ against the wire types in protocol/ that the SDKs use:
 * checked by `npm run typecheck`, no runtime code. (Content, audience and options are checked in
 * core/messages/schema-matches-protocol.ts.)
 */
import type { z } from "@hono/zod-openapi";
import type { Assert, Equals, Extends } from "../../core/util/type-equality.js";
import type { ErrorBody, ErrorDetail } from "../../protocol/errors.js";
import type { MessageCounts, MessageStatus, RecipientDevice, RecipientStatus, RecipientView } from "../../protocol/message.js";
import type { ErrorSchema } from "./common.js";
import type { Counts, MessageView, RecipientViewSchema } from "./messages.js";

type View = z.infer<typeof MessageView>;
type Recipient = z.infer<typeof RecipientViewSchema>;
type ErrorResponse = z.infer<typeof ErrorSchema>;

export type MessageStatusMatches = Assert<Equals<View["status"], MessageStatus>>;
/** `by_channel` is in the response only: protocol's MessageCounts are the exact tallies. */
export type CountsMatch = Assert<Equals<Omit<z.infer<typeof Counts>, "by_channel">, MessageCounts>>;
export type RecipientStatusMatches = Assert<Equals<Recipient["status"], RecipientStatus>>;
export type RecipientDeviceMatches = Assert<Equals<Recipient["devices"][number], RecipientDevice>>;
export type RecipientViewMatches = Assert<Equals<Recipient, RecipientView>>;

export type ErrorDetailMatches = Assert<Equals<NonNullable<ErrorResponse["error"]["details"]>[number], ErrorDetail>>;
/**
 * The error schema documents `code` as any string; protocol lists the codes (ErrorCode). Every
 * error body the API sends fits the schema; the schema is the looser of the two.
 */
export type ErrorBodyFitsSchema = Assert<Extends<ErrorBody, ErrorResponse>>;
export type ErrorCodeLooserInSchema = Assert<Equals<Extends<ErrorResponse, ErrorBody>, false>>;
