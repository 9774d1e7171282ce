CREATE TABLE `a2a_agents` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`card_url` text NOT NULL,
	`endpoint` text NOT NULL,
	`binding` text NOT NULL,
	`sealed_token` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `a2a_clients` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`grants` text NOT NULL,
	`oidc_subject` text,
	`created_at` text NOT NULL,
	`last_used_at` text,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `a2a_clients_token_hash_unique` ON `a2a_clients` (`token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `a2a_clients_oidc_subject_unique` ON `a2a_clients` (`oidc_subject`);--> statement-breakpoint
CREATE TABLE `a2a_push_configs` (
	`task_id` text NOT NULL,
	`id` text NOT NULL,
	`client_id` text NOT NULL,
	`url` text NOT NULL,
	`scheme` text,
	`sealed_secrets` text,
	`created_at` text NOT NULL,
	PRIMARY KEY(`task_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `a2a_tasks` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`a2a_agent_id` text NOT NULL,
	`remote_task_id` text NOT NULL,
	`done` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `a2a_tasks_active` ON `a2a_tasks` (`done`,`created_at`);--> statement-breakpoint
ALTER TABLE `hosted_agents` ADD `via` text;