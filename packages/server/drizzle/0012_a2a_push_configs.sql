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
