import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTempDir } from '../../server/test/helpers.js';
import { main } from '../src/cli.js';

// The CLI's answers to settings it cannot use, run in this process (each refusal comes
// before anything starts, so nothing is left running): exit 2, and a line on stderr that
// names the setting and what would fit. cli.test.ts runs the executable itself.

const work = createTempDir();
afterAll(() => work.remove());

let stdout = '';
let stderr = '';
beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

/** Runs `mosaic-fed <argv>` with only `env` set (and a data directory of the test's own). */
async function run(argv: string[], env: Record<string, string> = {}) {
  const dataDir = join(work.path, `data-${Math.random().toString(36).slice(2)}`);
  const code = await main(argv, { MOSAIC_FED_DATA_DIR: dataDir, ...env });
  return { code, stdout, stderr, dataDir };
}

describe('mosaic-fed refuses a setting it cannot use, naming it (exit 2)', () => {
  it.each([
    ['a log level', ['serve'], { MOSAIC_FED_LOG_LEVEL: 'loud' }, '--log-level must be debug, info, warn or error, not "loud"'],
    ['the old name of the sandbox that isolates nothing', ['serve'], { MOSAIC_FED_SANDBOX: 'process' }, 'MOSAIC_FED_SANDBOX=process is now unsafe-process (it isolates nothing)'],
    ['an unknown sandbox', ['serve'], { MOSAIC_FED_SANDBOX: 'vm' }, 'MOSAIC_FED_SANDBOX must be '],
    ['prices that are not JSON', ['serve'], { MOSAIC_FED_MODEL_PRICES: 'three dollars' }, 'MOSAIC_FED_MODEL_PRICES must be JSON such as {"currency":"USD"'],
    ['prices without a table of models', ['serve'], { MOSAIC_FED_MODEL_PRICES: '{"currency":"USD"}' }, 'MOSAIC_FED_MODEL_PRICES must be JSON such as {"currency":"USD","models":{"*":{"inputPerMillion":3,"outputPerMillion":15}}}: models '],
    ['an OIDC issuer without its audience', ['serve'], { MOSAIC_FED_OIDC_ISSUER: 'https://id.example.com' }, 'MOSAIC_FED_OIDC_ISSUER needs MOSAIC_FED_OIDC_AUDIENCE as well'],
    ['a port that is no port', ['serve'], { MOSAIC_FED_PORT: '70000' }, '--port must be a number from 0 to 65535, not "70000"'],
    ['an orchestrator service without its token', ['orchestrator'], { MOSAIC_FED_ORCHESTRATOR_TOKEN: 'short' }, 'mosaic-fed orchestrator needs MOSAIC_FED_ORCHESTRATOR_TOKEN (32 or more characters)'],
    ['a worker without Valkey', ['worker'], {}, 'mosaic-fed worker needs REDIS_URL'],
    ['a worker concurrency of none', ['worker'], { REDIS_URL: 'redis://127.0.0.1:6379', MOSAIC_FED_WORKER_CONCURRENCY: '0' }, 'MOSAIC_FED_WORKER_CONCURRENCY must be a whole number of at least 1, not "0"'],
    ['a lock that is not a number', ['worker'], { REDIS_URL: 'redis://127.0.0.1:6379', MOSAIC_FED_WORKER_LOCK_MS: 'soon' }, 'MOSAIC_FED_WORKER_LOCK_MS must be a whole number of at least 1, not "soon"'],
    ['a stand-in with nowhere to write its repository', ['stand-in'], {}, 'mosaic-fed stand-in needs --repository <dir>'],
    ['a token lifetime of nothing', ['token', 'create', '--expires-in', '0d'], {}, '--expires-in must be like 90d, 12h or 30m, not "0d"'],
    ['a token revoke without its id', ['token', 'revoke'], {}, 'token revoke takes one token id (see mosaic-fed token list)'],
  ])('%s', async (_what, argv, env, said) => {
    const answer = await run(argv, env);
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain(`mosaic-fed: ${said}`);
    expect(answer.stderr).not.toMatch(/\n\s+at /);
  });

  it('an option it does not know, with the help that lists the ones it does', async () => {
    const answer = await run(['serve', '--colour']);
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain("Unknown option '--colour'");
    expect(answer.stderr).toContain('MOSAIC_FED_DATA_DIR');
  });

  it('a stand-in repository in a folder that holds something already', async () => {
    const target = join(work.path, 'taken');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    const answer = await run(['stand-in', '--repository', target]);
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain(`--repository: ${target} is not empty; give a new directory`);
  });
});

describe('mosaic-fed refuses a setting that does not work here, naming it (exit 1)', () => {
  it('a Docker sandbox whose image no Docker API has', async () => {
    const answer = await run(['serve', '--port', '0'], { MOSAIC_FED_SANDBOX: 'docker', MOSAIC_FED_SANDBOX_IMAGE: 'localhost/mosaic-missing:0' });
    expect(answer.code).toBe(1);
    expect(answer.stderr).toContain('mosaic-fed: MOSAIC_FED_SANDBOX=docker, but no Docker API answers with the images localhost/mosaic-missing:0; check DOCKER_HOST');
    expect(answer.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('mosaic-fed token', () => {
  it('creates, revokes once, and then says there is no such token; a token for someone unknown is refused', async () => {
    const env = { MOSAIC_FED_DATA_DIR: join(work.path, 'tokens') };
    expect(await main(['token', 'create', '--label', 'ops', '--expires-in', '12h'], env)).toBe(0);
    const token = stdout.trim();
    expect(token).toMatch(/^mfa_/);
    const id = /\((?<id>[^)]+)\) created/.exec(stderr)?.groups?.id ?? '';
    expect(stderr).toContain(`admin token "ops" (${id}) created; it is shown only this once`);

    expect(await main(['token', 'revoke', id], env)).toBe(0);
    expect(stderr).toMatch(new RegExp(`admin token "ops" \\(${id}\\) is revoked since \\d{4}-`));
    expect(await main(['token', 'list'], env)).toBe(0);
    expect(stdout.split('\n').find((line) => line.startsWith(id))).toMatch(/ \d{4}-\d\d-\d\dT[\d:.]+Z\s*$/);

    expect(await main(['token', 'revoke', 'mft_nothing'], env)).toBe(2);
    expect(stderr).toContain('mosaic-fed: there is no admin token mft_nothing');
    expect(await main(['token', 'create', '--user', 'ghost'], env)).toBe(2);
    expect(stderr).toContain('mosaic-fed: --user: there is no user ghost (an admin adds users with POST /api/v1/federation/users)');
  });
});
