CREATE TABLE `credentials` (
	`app_id` text NOT NULL,
	`channel` text NOT NULL,
	`sealed` text NOT NULL,
	`key_version` integer NOT NULL,
	`masked` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`configured_at` text NOT NULL,
	`token_refreshed_at` text,
	`token_expires_at` text,
	`last_error` text,
	PRIMARY KEY(`app_id`, `channel`)
);
