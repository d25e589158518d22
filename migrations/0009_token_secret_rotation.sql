ALTER TABLE `apps` ADD `token_kid` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `apps` ADD `previous_token_secret` text;--> statement-breakpoint
ALTER TABLE `apps` ADD `previous_token_kid` integer;--> statement-breakpoint
ALTER TABLE `apps` ADD `previous_token_until` integer;