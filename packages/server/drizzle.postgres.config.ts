// drizzle-kit writes the PostgreSQL stores' migrations from their schema: `pnpm db:generate`.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/stores/postgres/schema.ts',
  out: './drizzle-postgres',
});
