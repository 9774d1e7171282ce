CREATE TABLE `admin_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`label` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `admin_tokens_token_hash_unique` ON `admin_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `agent_events` (
	`agent_id` text NOT NULL,
	`sequence` integer NOT NULL,
	`payload` text NOT NULL,
	PRIMARY KEY(`agent_id`, `sequence`)
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`at` text NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target` text,
	`before` text,
	`after` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_log_id_unique` ON `audit_log` (`id`);--> statement-breakpoint
CREATE TABLE `connections` (
	`id` text PRIMARY KEY NOT NULL,
	`peer_instance_id` text NOT NULL,
	`peer_url` text NOT NULL,
	`peer_name` text NOT NULL,
	`status` text NOT NULL,
	`direction` text NOT NULL,
	`grants` text NOT NULL,
	`peer_capabilities` text NOT NULL,
	`peer_metadata` text NOT NULL,
	`peer_keys` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`version` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connections_peer_instance_id_unique` ON `connections` (`peer_instance_id`);--> statement-breakpoint
CREATE TABLE `hosted_agents` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`connection_id` text NOT NULL,
	`owner_instance_id` text NOT NULL,
	`task_id` text NOT NULL,
	`state` text NOT NULL,
	`status` text NOT NULL,
	`sequence` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `hosted_agents_owner` ON `hosted_agents` (`owner_instance_id`,`created_at`,`agent_id`);--> statement-breakpoint
CREATE INDEX `hosted_agents_connection_state` ON `hosted_agents` (`connection_id`,`state`);--> statement-breakpoint
CREATE TABLE `instance` (
	`id` integer PRIMARY KEY NOT NULL,
	`instance_id` text NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`capabilities` text NOT NULL,
	`metadata` text NOT NULL,
	`keys` text NOT NULL,
	`key_rotations` text NOT NULL,
	`encrypted_private_key` text NOT NULL,
	`version` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	CONSTRAINT "instance_one_row" CHECK("instance"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE `message_log` (
	`issuer` text NOT NULL,
	`jti` text NOT NULL,
	`hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`reply` text,
	PRIMARY KEY(`issuer`, `jti`)
);
--> statement-breakpoint
CREATE INDEX `message_log_expires_at` ON `message_log` (`expires_at`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`connection_id` text NOT NULL,
	`peer_instance_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`give_up_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`delivered_at` integer,
	`last_error` text
);
--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`delivered_at`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `remote_agents` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`connection_id` text NOT NULL,
	`peer_instance_id` text NOT NULL,
	`task_id` text NOT NULL,
	`agent_type` text NOT NULL,
	`status` text NOT NULL,
	`sequence` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `remote_agents_created` ON `remote_agents` (`created_at`,`agent_id`);