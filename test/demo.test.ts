import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { coverageEnv } from './coverage-provider/children.js';

// The README's first command, as a newcomer runs it (the build is done by the test
// command already, so the demo skips its own).
describe('pnpm demo', () => {
  it('starts a hub and a spoke, runs workers that fix a shell and a JavaScript repository, prints their patches and exits 0', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...coverageEnv() };
    delete env.ANTHROPIC_API_KEY;
    const child = spawn(process.execPath, ['scripts/demo.mjs', '--no-build'], {
      cwd: new URL('..', import.meta.url).pathname,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain('a scripted model on this machine plays Claude\'s part');
    expect(stdout).toMatch(
      /Agents run in the (bubblewrap sandbox \(Linux namespaces\)|docker sandbox \(.+\)|unsafe-process sandbox \(no isolation: for your own experiments only\))\./,
    );
    expect(stdout).toMatch(/^● \[1\] spawning$/m);
    expect(stdout).toMatch(/^● \[\d+\] running/m);
    expect(stdout).toMatch(/^● \[\d+\] completed/m);
    const [shell, javascript] = stdout.split('A repository with ').slice(1);
    expect(shell).toContain('(outcome: succeeded)');
    expect(shell).toMatch(/✔ sh test\.sh exited 0/);
    expect(shell).toContain('--- a/calc.sh');
    expect(shell).toContain('+  echo $(($1 + $2))');
    expect(javascript).toContain('a JavaScript module');
    expect(javascript).toContain('(outcome: succeeded)');
    expect(javascript).toMatch(/✔ node test\.js exited 0/);
    expect(javascript).toContain('--- a/slug.js');
    expect(javascript).toContain("+  return title.trim().toLowerCase().replace(/[^A-Za-z0-9]+/g, '-');");
    expect(stdout).toContain('Stopped both instances');
    expect(stderr).toBe('');
  }, 60_000);
});
