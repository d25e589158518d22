export * from "./errors.js";
export * from "./frames.js";
export * from "./ids.js";
export * from "./message.js";
