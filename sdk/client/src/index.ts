export type {
	ClientFrame,
	MessageFrame,
	ServerFrame,
} from "../../../protocol/frames.js";
export type { ContentType, MediaInfo, MessageContent } from "../../../protocol/message.js";
export { Backoff, type BackoffOptions, backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
export {
	type ClientEvents,
	isFinalCloseCode,
	type StateChange,
	type TokenReason,
	WarblerClient,
	type WarblerClientOptions,
	type WarblerMessage,
	type WelcomeFrame,
} from "./client.js";
export { type ClientErrorKind, WarblerClientError } from "./errors.js";
export type { Listener } from "./events.js";
export type { WebSocketConstructor, WebSocketLike } from "./socket.js";
export { type ConnectionState, canTransition } from "./state.js";
export { localStorageStorage, memoryStorage, type WarblerStorage } from "./storage.js";
