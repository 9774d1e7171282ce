ALTER TABLE `connections` ADD `replaced_peer_keys` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `connections` ADD `peer_url_vouches` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- A connection this instance asked for was made at the peer's URL: it vouched by construction.
UPDATE `connections` SET `peer_url_vouches` = true WHERE `direction` = 'outgoing';