/**
 * Devices one user may have: vendor devices registered through the API, and WebSocket devices that
 * connected. Past it a new device is refused with 409 \`conflict\` (before the WebSocket upgrade)
 * until one is removed with DELETE /v1/users/{id}/devices/{deviceId}.
 */
export const MAX_DEVICES_PER_USER = 32;
