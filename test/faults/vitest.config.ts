import { defineProject } from 'vitest/config';

// Fault injection against real processes (issue 17): `mosaic-fed serve` hubs and spokes
// killed with SIGKILL and held down under load, with the agents and events counted at the end.
export default defineProject({
  test: {
    name: 'faults',
    include: ['**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
