ALTER TABLE `hosted_agents` ADD `actor_user_id` text;--> statement-breakpoint
ALTER TABLE `hosted_agents` ADD `actor_workspace_id` text;--> statement-breakpoint
CREATE INDEX `hosted_agents_owner_workspace` ON `hosted_agents` (`owner_instance_id`,`actor_workspace_id`,`created_at`,`agent_id`);