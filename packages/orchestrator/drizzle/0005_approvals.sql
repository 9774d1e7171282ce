CREATE TABLE `orchestrator_answers` (
	`agent_id` text NOT NULL,
	`approval_id` text NOT NULL,
	`answer` text NOT NULL,
	PRIMARY KEY(`agent_id`, `approval_id`)
);
--> statement-breakpoint
ALTER TABLE `orchestrator_agents` ADD `approvals` text;