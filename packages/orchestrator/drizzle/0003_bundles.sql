CREATE TABLE `orchestrator_bundles` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`data` blob NOT NULL
);
