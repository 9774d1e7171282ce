CREATE TABLE `orchestrator_transcript` (
	`agent_id` text NOT NULL,
	`idx` integer NOT NULL,
	`entry` text NOT NULL,
	PRIMARY KEY(`agent_id`, `idx`)
);
