// drizzle-kit writes the libSQL agent state's migrations from its schema: `pnpm db:generate`.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/state/libsql-schema.ts',
  out: './drizzle',
});
