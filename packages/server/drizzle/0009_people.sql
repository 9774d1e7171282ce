CREATE TABLE `memberships` (
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `memberships_user` ON `memberships` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`connection_ids` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `admin_tokens` ADD `user_id` text;--> statement-breakpoint
ALTER TABLE `remote_agents` ADD `owner_user_id` text;--> statement-breakpoint
ALTER TABLE `remote_agents` ADD `owner_workspace_id` text;--> statement-breakpoint
CREATE INDEX `remote_agents_workspace` ON `remote_agents` (`owner_workspace_id`,`created_at`,`agent_id`);--> statement-breakpoint
ALTER TABLE `spawn_requests` ADD `owner` text;