CREATE TABLE "a2a_agents" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"card_url" text COLLATE "C" NOT NULL,
	"endpoint" text COLLATE "C" NOT NULL,
	"binding" text COLLATE "C" NOT NULL,
	"sealed_token" text COLLATE "C",
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "a2a_clients" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"token_hash" text COLLATE "C" NOT NULL,
	"grants" jsonb NOT NULL,
	"oidc_subject" text COLLATE "C",
	"created_at" text COLLATE "C" NOT NULL,
	"last_used_at" text COLLATE "C",
	"revoked_at" text COLLATE "C",
	CONSTRAINT "a2a_clients_token_hash_unique" UNIQUE("token_hash"),
	CONSTRAINT "a2a_clients_oidc_subject_unique" UNIQUE("oidc_subject")
);
--> statement-breakpoint
CREATE TABLE "a2a_push_configs" (
	"task_id" text COLLATE "C" NOT NULL,
	"id" text COLLATE "C" NOT NULL,
	"client_id" text COLLATE "C" NOT NULL,
	"url" text COLLATE "C" NOT NULL,
	"scheme" text COLLATE "C",
	"sealed_secrets" text COLLATE "C",
	"created_at" text COLLATE "C" NOT NULL,
	CONSTRAINT "a2a_push_configs_task_id_id_pk" PRIMARY KEY("task_id","id")
);
--> statement-breakpoint
CREATE TABLE "a2a_tasks" (
	"agent_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"a2a_agent_id" text COLLATE "C" NOT NULL,
	"remote_task_id" text COLLATE "C" NOT NULL,
	"done" boolean NOT NULL,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "admin_tokens" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"label" text COLLATE "C" NOT NULL,
	"token_hash" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	"expires_at" text COLLATE "C",
	"last_used_at" text COLLATE "C",
	"revoked_at" text COLLATE "C",
	"user_id" text COLLATE "C",
	CONSTRAINT "admin_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "agent_events" (
	"agent_id" text COLLATE "C" NOT NULL,
	"sequence" integer NOT NULL,
	"payload" jsonb NOT NULL,
	CONSTRAINT "agent_events_agent_id_sequence_pk" PRIMARY KEY("agent_id","sequence")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text COLLATE "C" NOT NULL,
	"at" text COLLATE "C" NOT NULL,
	"actor" jsonb NOT NULL,
	"action" text COLLATE "C" NOT NULL,
	"target" text COLLATE "C",
	"before" jsonb,
	"after" jsonb,
	CONSTRAINT "audit_log_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"peer_instance_id" text COLLATE "C" NOT NULL,
	"peer_url" text COLLATE "C" NOT NULL,
	"peer_name" text COLLATE "C" NOT NULL,
	"status" text COLLATE "C" NOT NULL,
	"direction" text COLLATE "C" NOT NULL,
	"grants" jsonb NOT NULL,
	"peer_capabilities" jsonb NOT NULL,
	"peer_metadata" jsonb NOT NULL,
	"peer_keys" jsonb NOT NULL,
	"replaced_peer_keys" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"peer_url_vouches" boolean DEFAULT false NOT NULL,
	"peer_paused_at" text COLLATE "C",
	"peer_seen_at" text COLLATE "C",
	"created_at" text COLLATE "C" NOT NULL,
	"updated_at" text COLLATE "C" NOT NULL,
	"version" integer NOT NULL,
	CONSTRAINT "connections_peer_instance_id_unique" UNIQUE("peer_instance_id")
);
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"agent_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"request" jsonb NOT NULL,
	"repository" text COLLATE "C" NOT NULL,
	"base_branch" text COLLATE "C" NOT NULL,
	"task_id" text COLLATE "C" NOT NULL,
	"state" text COLLATE "C" NOT NULL,
	"attempts" integer NOT NULL,
	"next_attempt_at" bigint NOT NULL,
	"commit" text COLLATE "C",
	"pull_request" jsonb,
	"error" text COLLATE "C",
	"created_at" text COLLATE "C" NOT NULL,
	"updated_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hosted_agents" (
	"agent_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"connection_id" text COLLATE "C" NOT NULL,
	"owner_instance_id" text COLLATE "C" NOT NULL,
	"actor_user_id" text COLLATE "C",
	"actor_workspace_id" text COLLATE "C",
	"via" text COLLATE "C",
	"task_id" text COLLATE "C" NOT NULL,
	"state" text COLLATE "C" NOT NULL,
	"status" jsonb NOT NULL,
	"sequence" integer NOT NULL,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "instance" (
	"id" integer PRIMARY KEY NOT NULL,
	"instance_id" text COLLATE "C" NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"url" text COLLATE "C" NOT NULL,
	"capabilities" jsonb NOT NULL,
	"metadata" jsonb NOT NULL,
	"keys" jsonb NOT NULL,
	"key_rotations" jsonb NOT NULL,
	"encrypted_private_key" text COLLATE "C" NOT NULL,
	"version" integer NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	"updated_at" text COLLATE "C" NOT NULL,
	CONSTRAINT "instance_one_row" CHECK ("instance"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "memberships" (
	"workspace_id" text COLLATE "C" NOT NULL,
	"user_id" text COLLATE "C" NOT NULL,
	"role" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	CONSTRAINT "memberships_workspace_id_user_id_pk" PRIMARY KEY("workspace_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "message_log" (
	"issuer" text COLLATE "C" NOT NULL,
	"jti" text COLLATE "C" NOT NULL,
	"hash" text COLLATE "C" NOT NULL,
	"expires_at" bigint NOT NULL,
	"reply" jsonb,
	CONSTRAINT "message_log_issuer_jti_pk" PRIMARY KEY("issuer","jti")
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "outbox_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"connection_id" text COLLATE "C" NOT NULL,
	"peer_instance_id" text COLLATE "C" NOT NULL,
	"order_key" text COLLATE "C",
	"event_type" text COLLATE "C" NOT NULL,
	"payload" jsonb NOT NULL,
	"attempts" integer NOT NULL,
	"next_attempt_at" bigint NOT NULL,
	"give_up_at" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"delivered_at" bigint,
	"last_error" text COLLATE "C"
);
--> statement-breakpoint
CREATE TABLE "remote_agents" (
	"agent_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"connection_id" text COLLATE "C" NOT NULL,
	"peer_instance_id" text COLLATE "C" NOT NULL,
	"owner_user_id" text COLLATE "C",
	"owner_workspace_id" text COLLATE "C",
	"task_id" text COLLATE "C" NOT NULL,
	"agent_type" text COLLATE "C" NOT NULL,
	"status" jsonb NOT NULL,
	"sequence" integer NOT NULL,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "spawn_requests" (
	"idempotency_key" text COLLATE "C" PRIMARY KEY NOT NULL,
	"jti" text COLLATE "C" NOT NULL,
	"connection_id" text COLLATE "C" NOT NULL,
	"payload" jsonb NOT NULL,
	"deliver" jsonb,
	"request_hash" text COLLATE "C" NOT NULL,
	"actor" jsonb NOT NULL,
	"owner" jsonb,
	"created_at" text COLLATE "C" NOT NULL,
	"response" jsonb
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"oidc_subject" text COLLATE "C",
	"created_at" text COLLATE "C" NOT NULL,
	CONSTRAINT "users_oidc_subject_unique" UNIQUE("oidc_subject")
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"connection_ids" jsonb,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE INDEX "a2a_tasks_active" ON "a2a_tasks" USING btree ("done","created_at");--> statement-breakpoint
CREATE INDEX "deliveries_due" ON "deliveries" USING btree ("state","next_attempt_at");--> statement-breakpoint
CREATE INDEX "hosted_agents_owner" ON "hosted_agents" USING btree ("owner_instance_id","created_at","agent_id");--> statement-breakpoint
CREATE INDEX "hosted_agents_connection_state" ON "hosted_agents" USING btree ("connection_id","state");--> statement-breakpoint
CREATE INDEX "hosted_agents_owner_workspace" ON "hosted_agents" USING btree ("owner_instance_id","actor_workspace_id","created_at","agent_id");--> statement-breakpoint
CREATE INDEX "memberships_user" ON "memberships" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "message_log_expires_at" ON "message_log" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "outbox_due" ON "outbox" USING btree ("delivered_at","next_attempt_at");--> statement-breakpoint
CREATE INDEX "outbox_order" ON "outbox" USING btree ("order_key","delivered_at","give_up_at");--> statement-breakpoint
CREATE INDEX "remote_agents_created" ON "remote_agents" USING btree ("created_at","agent_id");--> statement-breakpoint
CREATE INDEX "remote_agents_workspace" ON "remote_agents" USING btree ("owner_workspace_id","created_at","agent_id");--> statement-breakpoint
CREATE INDEX "spawn_requests_created" ON "spawn_requests" USING btree ("created_at");