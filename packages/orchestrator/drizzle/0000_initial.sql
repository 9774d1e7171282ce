CREATE TABLE `orchestrator_agents` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`owner_instance_id` text NOT NULL,
	`spec` text NOT NULL,
	`status` text NOT NULL,
	`state` text NOT NULL,
	`sequence` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `orchestrator_agents_state` ON `orchestrator_agents` (`state`);--> statement-breakpoint
CREATE TABLE `orchestrator_events` (
	`agent_id` text NOT NULL,
	`sequence` integer NOT NULL,
	`payload` text NOT NULL,
	PRIMARY KEY(`agent_id`, `sequence`)
);
