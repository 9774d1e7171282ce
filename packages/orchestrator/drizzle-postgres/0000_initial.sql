CREATE TABLE "orchestrator_agents" (
	"agent_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"owner_instance_id" text COLLATE "C" NOT NULL,
	"spec" jsonb NOT NULL,
	"egress" jsonb,
	"max_tokens" integer,
	"approvals" jsonb,
	"traceparent" text COLLATE "C",
	"status" jsonb NOT NULL,
	"state" text COLLATE "C" NOT NULL,
	"sequence" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "orchestrator_answers" (
	"agent_id" text COLLATE "C" NOT NULL,
	"approval_id" text COLLATE "C" NOT NULL,
	"answer" jsonb NOT NULL,
	CONSTRAINT "orchestrator_answers_agent_id_approval_id_pk" PRIMARY KEY("agent_id","approval_id")
);
--> statement-breakpoint
CREATE TABLE "orchestrator_bundles" (
	"agent_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"data" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "orchestrator_events" (
	"agent_id" text COLLATE "C" NOT NULL,
	"sequence" integer NOT NULL,
	"payload" jsonb NOT NULL,
	CONSTRAINT "orchestrator_events_agent_id_sequence_pk" PRIMARY KEY("agent_id","sequence")
);
--> statement-breakpoint
CREATE TABLE "orchestrator_transcript" (
	"agent_id" text COLLATE "C" NOT NULL,
	"idx" integer NOT NULL,
	"entry" jsonb NOT NULL,
	CONSTRAINT "orchestrator_transcript_agent_id_idx_pk" PRIMARY KEY("agent_id","idx")
);
--> statement-breakpoint
CREATE INDEX "orchestrator_agents_state" ON "orchestrator_agents" USING btree ("state");