ALTER TABLE `messages` ADD `is_direct` integer DEFAULT false NOT NULL;--> statement-breakpoint
UPDATE `messages` SET `is_direct` = 1 WHERE `audience` LIKE '{"users"%';
