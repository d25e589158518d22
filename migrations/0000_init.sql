CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`app_id` text NOT NULL,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`revoked_at` text,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `api_keys_app` ON `api_keys` (`app_id`);--> statement-breakpoint
CREATE TABLE `apps` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`plan` text NOT NULL,
	`token_secret` text NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`app_id` text,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target` text,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_app` ON `audit_log` (`app_id`,`id`);--> statement-breakpoint
CREATE TABLE `devices` (
	`app_id` text NOT NULL,
	`user_id` text NOT NULL,
	`id` text NOT NULL,
	`platform` text NOT NULL,
	`channel` text NOT NULL,
	`token` text,
	`subscription` text,
	`status` text DEFAULT 'active' NOT NULL,
	`last_error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`app_id`, `user_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`app_id` text NOT NULL,
	`id` text NOT NULL,
	`audience` text NOT NULL,
	`content` text NOT NULL,
	`options` text NOT NULL,
	`idempotency_key` text,
	`body_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	PRIMARY KEY(`app_id`, `id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_idempotency` ON `messages` (`app_id`,`idempotency_key`) WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE TABLE `user_tags` (
	`app_id` text NOT NULL,
	`tag` text NOT NULL,
	`user_id` text NOT NULL,
	PRIMARY KEY(`app_id`, `tag`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `user_tags_user` ON `user_tags` (`app_id`,`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`app_id` text NOT NULL,
	`id` text NOT NULL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`locale` text,
	`timezone` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`app_id`, `id`)
);
