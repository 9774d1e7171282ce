// drizzle-kit writes the PostgreSQL agent state's migrations from its schema: `pnpm db:generate`.
// Its ledger is its own: the server's stores may share the database.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/state/postgres-schema.ts',
  out: './drizzle-postgres',
  migrations: { table: '__drizzle_migrations_orchestrator', schema: 'public' },
});
