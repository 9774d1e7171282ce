// Schema migrations, applied in order at start, each once, each in its own transaction.
// They are SQL in code rather than files on disk so that the same store runs where there
// is no file system (a Worker talking to a remote libSQL server). Append, never edit.
export interface Migration {
  id: string;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: '0001_instance_audit_admin_tokens',
    statements: [
      `CREATE TABLE instance (
        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
        instance_id TEXT NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        capabilities TEXT NOT NULL,
        metadata TEXT NOT NULL,
        keys TEXT NOT NULL,
        key_rotations TEXT NOT NULL,
        encrypted_private_key TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        before TEXT,
        after TEXT
      )`,
      `CREATE TABLE admin_tokens (
        id TEXT PRIMARY KEY NOT NULL,
        label TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      )`,
    ],
  },
  {
    id: '0002_connections_message_log',
    statements: [
      `CREATE TABLE connections (
        id TEXT PRIMARY KEY NOT NULL,
        peer_instance_id TEXT NOT NULL UNIQUE,
        peer_url TEXT NOT NULL,
        peer_name TEXT NOT NULL,
        status TEXT NOT NULL,
        direction TEXT NOT NULL,
        grants TEXT NOT NULL,
        peer_capabilities TEXT NOT NULL,
        peer_metadata TEXT NOT NULL,
        peer_keys TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL
      )`,
      `CREATE TABLE message_log (
        issuer TEXT NOT NULL,
        jti TEXT NOT NULL,
        hash TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        reply TEXT,
        PRIMARY KEY (issuer, jti)
      )`,
      'CREATE INDEX message_log_expires_at ON message_log (expires_at)',
    ],
  },
  {
    id: '0003_agents_outbox',
    statements: [
      `CREATE TABLE hosted_agents (
        agent_id TEXT PRIMARY KEY NOT NULL,
        connection_id TEXT NOT NULL,
        owner_instance_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        state TEXT NOT NULL,
        status TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        created_at TEXT NOT NULL
      )`,
      'CREATE INDEX hosted_agents_owner ON hosted_agents (owner_instance_id, created_at, agent_id)',
      'CREATE INDEX hosted_agents_connection_state ON hosted_agents (connection_id, state)',
      `CREATE TABLE remote_agents (
        agent_id TEXT PRIMARY KEY NOT NULL,
        connection_id TEXT NOT NULL,
        peer_instance_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        agent_type TEXT NOT NULL,
        status TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        created_at TEXT NOT NULL
      )`,
      'CREATE INDEX remote_agents_created ON remote_agents (created_at, agent_id)',
      `CREATE TABLE agent_events (
        agent_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (agent_id, sequence)
      )`,
      `CREATE TABLE outbox (
        id TEXT PRIMARY KEY NOT NULL,
        connection_id TEXT NOT NULL,
        peer_instance_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        give_up_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER,
        last_error TEXT
      )`,
      'CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at)',
    ],
  },
  {
    // PROTOCOL 3 and 4: whether a peer's URL vouched for its request, and the keys it
    // replaced. A connection this instance asked for was made at the URL itself.
    id: '0004_connection_vouching_replaced_keys',
    statements: [
      "ALTER TABLE connections ADD COLUMN replaced_peer_keys TEXT NOT NULL DEFAULT '[]'",
      'ALTER TABLE connections ADD COLUMN peer_url_vouches INTEGER NOT NULL DEFAULT 0',
      "UPDATE connections SET peer_url_vouches = 1 WHERE direction = 'outgoing'",
    ],
  },
  {
    // Admin tokens that can expire and be revoked, and say when they were last used.
    id: '0005_admin_token_lifecycle',
    statements: [
      'ALTER TABLE admin_tokens ADD COLUMN expires_at TEXT',
      'ALTER TABLE admin_tokens ADD COLUMN last_used_at TEXT',
      'ALTER TABLE admin_tokens ADD COLUMN revoked_at TEXT',
    ],
  },
  {
    // PROTOCOL 5: one agent's events go out in sequence order.
    id: '0006_outbox_order',
    statements: [
      'ALTER TABLE outbox ADD COLUMN order_key TEXT',
      'CREATE INDEX outbox_order ON outbox (order_key, delivered_at, give_up_at)',
    ],
  },
  {
    // PROTOCOL 6: a spawn is recorded, under its Idempotency-Key, before it is sent.
    id: '0007_spawn_requests',
    statements: [
      `CREATE TABLE spawn_requests (
        idempotency_key TEXT PRIMARY KEY NOT NULL,
        jti TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        actor TEXT NOT NULL,
        created_at TEXT NOT NULL,
        response TEXT
      )`,
      'CREATE INDEX spawn_requests_created ON spawn_requests (created_at)',
    ],
  },
];
