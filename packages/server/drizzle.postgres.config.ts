// drizzle-kit writes the PostgreSQL stores' migrations from their schema: `pnpm db:generate`.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/stores/postgres/schema.ts',
  out: './drizzle-postgres',
  // Applied at start into the connection's schema (public by default), as drizzle names it.
  migrations: { table: '__drizzle_migrations', schema: 'public' },
});
