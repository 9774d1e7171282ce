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
CREATE TABLE `a2a_tasks` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`a2a_agent_id` text NOT NULL,
	`remote_task_id` text NOT NULL,
	`done` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `a2a_tasks_active` ON `a2a_tasks` (`done`,`created_at`);