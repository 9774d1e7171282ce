ALTER TABLE `admin_tokens` ADD `expires_at` text;--> statement-breakpoint
ALTER TABLE `admin_tokens` ADD `last_used_at` text;--> statement-breakpoint
ALTER TABLE `admin_tokens` ADD `revoked_at` text;