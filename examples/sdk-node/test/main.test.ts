import { describe, expect, it } from 'vitest';
import { main } from '../main.mjs';

describe('examples/sdk-node', () => {
  it('spawns and watches an agent to completed, then spawns and kills another, all with FederationClient', async () => {
    const lines: string[] = [];
    const outcome = await main({ log: (line) => lines.push(line) });
    expect(lines.filter((line) => line.startsWith('status ')).at(-1)).toMatch(/^status completed/);
    expect(lines).toContain('summary Replaced `$1 - $2` with `$1 + $2` in calc.sh; the tests pass now.');
    expect(outcome.patch).toContain('+  echo $(($1 + $2))');
    expect(lines.find((line) => line.startsWith('killed '))).toContain(outcome.killed);
    expect(lines.at(-1)).toBe('listed example-fix=completed example-kill=killed');
  });
});
