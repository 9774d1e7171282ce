// What the first release's hand-written migrations (0001 to 0003, before drizzle-kit)
// made of a database, with their ledger: frozen, to test the upgrade from it.
export const RELEASE_MIGRATIONS: readonly { id: string; statements: string[] }[] = [
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
];
