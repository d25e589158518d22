export type { ErrorCode, ErrorDetail } from "../../../protocol/errors.js";
export { Warbler, type WarblerOptions } from "./client.js";
export { isWarblerError, type TransportErrorCode, WarblerError, type WarblerErrorCode } from "./errors.js";
export type { FetchLike, RequestOptions } from "./http.js";
export { DEFAULT_RETRY, parseRetryAfter, type RetryOptions, retryDelay } from "./retry.js";
export type * from "./types.js";
