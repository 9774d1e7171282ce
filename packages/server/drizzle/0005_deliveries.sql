CREATE TABLE `deliveries` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`request` text NOT NULL,
	`repository` text NOT NULL,
	`base_branch` text NOT NULL,
	`task_id` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`commit` text,
	`pull_request` text,
	`error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deliveries_due` ON `deliveries` (`state`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `spawn_requests` ADD `deliver` text;