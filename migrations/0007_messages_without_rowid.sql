-- One row written per accepted message instead of two: the table is keyed by its primary key
-- itself (WITHOUT ROWID), so there is no separate index of (app_id, id) to write as well.
CREATE TABLE `messages_v2` (
	`app_id` text NOT NULL,
	`id` text NOT NULL,
	`audience` text NOT NULL,
	`content` text NOT NULL,
	`options` text NOT NULL,
	`idempotency_key` text,
	`body_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`template` text,
	`is_direct` integer DEFAULT false NOT NULL,
	`fanout_done_at` text,
	PRIMARY KEY(`app_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `messages_v2` (`app_id`, `id`, `audience`, `content`, `options`, `idempotency_key`, `body_hash`, `created_at`, `expires_at`, `template`, `is_direct`, `fanout_done_at`)
	SELECT `app_id`, `id`, `audience`, `content`, `options`, `idempotency_key`, `body_hash`, `created_at`, `expires_at`, `template`, `is_direct`, `fanout_done_at` FROM `messages`;
--> statement-breakpoint
DROP TABLE `messages`;
--> statement-breakpoint
ALTER TABLE `messages_v2` RENAME TO `messages`;
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_idempotency` ON `messages` (`app_id`,`idempotency_key`) WHERE idempotency_key IS NOT NULL;
