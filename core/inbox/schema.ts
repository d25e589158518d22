import { META_SCHEMA } from "../objects/meta.js";

/** The inbox's SQLite schema. Idempotent: runs in the constructor of every instance. */
export const INBOX_SCHEMA = `
${META_SCHEMA}
-- Messages still owed to some device, in seq order. frame is the exact JSON sent on the socket.
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  frame TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  collapse_key TEXT,
  sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_expiry ON inbox (expires_at);
CREATE INDEX IF NOT EXISTS inbox_collapse ON inbox (collapse_key) WHERE collapse_key IS NOT NULL;
-- One row per message ever given to this user: idempotency on message id, and the recipient view.
CREATE TABLE IF NOT EXISTS receipts (
  message_id TEXT PRIMARY KEY,
  seq INTEGER,
  status TEXT NOT NULL,
  delivered_at INTEGER,
  acked_at INTEGER,
  opened_at INTEGER,
  clicked_at INTEGER,
  keep_until INTEGER NOT NULL,
  dirty INTEGER NOT NULL DEFAULT 0,
  tally INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS receipts_dirty ON receipts (dirty) WHERE dirty = 1;
CREATE INDEX IF NOT EXISTS receipts_keep ON receipts (keep_until);
-- Cumulative ack position of every device that ever said hello.
CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, acked_seq INTEGER NOT NULL, last_seen INTEGER NOT NULL);
-- Seqs that left unacked (TTL or cap): announced to late devices as gap frames.
CREATE TABLE IF NOT EXISTS dropped (seq INTEGER PRIMARY KEY, reason TEXT NOT NULL, at INTEGER NOT NULL);
-- channels=auto: vendor fallback due unless a device acks first.
CREATE TABLE IF NOT EXISTS fallbacks (message_id TEXT PRIMARY KEY, due_at INTEGER NOT NULL);
-- Messages waiting for quiet hours to end or the user's best hour; the whole delivery as JSON.
CREATE TABLE IF NOT EXISTS held (message_id TEXT PRIMARY KEY, release_at INTEGER NOT NULL, delivery TEXT NOT NULL);
-- Capped sends in the last week, for rolling frequency caps.
CREATE TABLE IF NOT EXISTS sends (at INTEGER NOT NULL, category TEXT);
CREATE INDEX IF NOT EXISTS sends_at ON sends (at);
-- Opens and clicks by local hour of the week (0 = Monday 00:00), for optimal send times.
CREATE TABLE IF NOT EXISTS engagement (hour INTEGER PRIMARY KEY, n INTEGER NOT NULL);
-- Recalled messages, so a device that saw one before going offline is told on resume.
CREATE TABLE IF NOT EXISTS recalls (message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL);
`;
