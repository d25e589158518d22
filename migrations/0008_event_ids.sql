CREATE TABLE `event_ids` (
	`app_id` text NOT NULL,
	`id` text NOT NULL,
	`seen_at` integer NOT NULL,
	PRIMARY KEY(`app_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `event_ids_seen` ON `event_ids` (`seen_at`);