ALTER TABLE `outbox` ADD `order_key` text;--> statement-breakpoint
CREATE INDEX `outbox_order` ON `outbox` (`order_key`,`delivered_at`,`give_up_at`);