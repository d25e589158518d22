ALTER TABLE `messages` ADD `fanout_done_at` text;--> statement-breakpoint
-- Broadcasts accepted before this column existed are not re-driven.
UPDATE `messages` SET `fanout_done_at` = `created_at` WHERE `is_direct` = 0;
