CREATE TABLE `a2a_clients` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`grants` text NOT NULL,
	`created_at` text NOT NULL,
	`last_used_at` text,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `a2a_clients_token_hash_unique` ON `a2a_clients` (`token_hash`);--> statement-breakpoint
ALTER TABLE `hosted_agents` ADD `via` text;