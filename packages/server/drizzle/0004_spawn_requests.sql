CREATE TABLE `spawn_requests` (
	`idempotency_key` text PRIMARY KEY NOT NULL,
	`jti` text NOT NULL,
	`connection_id` text NOT NULL,
	`payload` text NOT NULL,
	`request_hash` text NOT NULL,
	`actor` text NOT NULL,
	`created_at` text NOT NULL,
	`response` text
);
--> statement-breakpoint
CREATE INDEX `spawn_requests_created` ON `spawn_requests` (`created_at`);