/**
 * Devices one user may have: vendor devices registered through the API, and WebSocket devices that
 * connected. Past it a new device is refused with 409 \`conflict\` (before the WebSocket upgrade)
 * until one is removed with DELETE /v1/users/{id}/devices/{deviceId}.
 */
export const MAX_DEVICES_PER_USER = 32;

/**
 * Frames one WebSocket connection may send: a bucket of FRAME_BURST frames that refills at
 * FRAME_RATE_PER_SECOND (pings answered by the runtime do not count). The client SDK sends at most
 * one ack per 100 ms, so only a flood goes over: it gets an `error` frame `rate_limited`, then close
 * 4004 (CloseCode.RATE_LIMITED), and reconnects after backoff.
 */
export const FRAME_RATE_PER_SECOND = 20;
export const FRAME_BURST = 60;
