CREATE TABLE `automations` (
	`app_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`trigger_event` text NOT NULL,
	`definition` text NOT NULL,
	`enabled` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`app_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `automations_trigger` ON `automations` (`app_id`,`trigger_event`);--> statement-breakpoint
CREATE TABLE `schedule_runs` (
	`app_id` text NOT NULL,
	`schedule_id` text NOT NULL,
	`occurrence` text NOT NULL,
	`message_id` text,
	`outcome` text NOT NULL,
	`fired_at` text NOT NULL,
	PRIMARY KEY(`app_id`, `schedule_id`, `occurrence`)
);
--> statement-breakpoint
CREATE TABLE `schedules` (
	`app_id` text NOT NULL,
	`id` text NOT NULL,
	`message` text NOT NULL,
	`when` text NOT NULL,
	`status` text NOT NULL,
	`max_lateness_seconds` integer NOT NULL,
	`next_run_at` text,
	`run_count` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`app_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `schedules_due` ON `schedules` (`status`,`next_run_at`);--> statement-breakpoint
CREATE TABLE `templates` (
	`app_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`definition` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`app_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `users_timezone` ON `users` (`app_id`,`timezone`);