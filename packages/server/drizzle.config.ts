// drizzle-kit writes the libSQL store's migrations from its schema: `pnpm db:generate`.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/stores/libsql/schema.ts',
  out: './drizzle',
});
