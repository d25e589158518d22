-- Statistics and the message log (GET /v1/stats, GET /v1/messages): where a message came from,
-- when it was recalled, and the ledger's part of its counts, copied once per change batch.
ALTER TABLE `messages` ADD `source_kind` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `source_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `recalled_at` text;--> statement-breakpoint
CREATE TABLE `message_ledger_stats` (
	`app_id` text NOT NULL,
	`message_id` text NOT NULL,
	`rev` integer NOT NULL,
	`failed` integer NOT NULL,
	`by_channel` text NOT NULL,
	PRIMARY KEY(`app_id`, `message_id`)
) WITHOUT ROWID;
