import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { validSpawnPayload } from '../../test/fixtures.js';
import { parseOrThrow, FederationError } from '../errors.js';
import {
  AgentsStatusPayloadSchema,
  AgentRespondPayloadSchema,
  AgentSpawnPayloadSchema,
  AgentStatusChangedPayloadSchema,
  AgentsListPayloadSchema,
  BranchSchema,
  inputTokensOf,
  tokensOf,
} from './agents.js';

type Payload = ReturnType<typeof validSpawnPayload>;

function withContext(change: Partial<Payload['context']>): Payload {
  const payload = validSpawnPayload();
  return { ...payload, context: { ...payload.context, ...change } };
}

function withOptions(change: Record<string, unknown>): unknown {
  const payload = validSpawnPayload();
  return { ...payload, options: { ...payload.options, ...change } };
}

const accepts = (value: unknown) => AgentSpawnPayloadSchema.safeParse(value).success;

/** Asserts the limit at the boundary: `at` and `inside` pass, `outside` fails. */
function expectLimit(build: (n: number) => unknown, at: number, inside: number, outside: number) {
  expect(accepts(build(at)), `at ${at}`).toBe(true);
  expect(accepts(build(inside)), `inside ${inside}`).toBe(true);
  expect(accepts(build(outside)), `outside ${outside}`).toBe(false);
}

describe('agent.spawn payload limits (PROTOCOL 5)', () => {
  it('accepts the protocol example and fills in defaults', () => {
    const { options: _options, ...withoutOptions } = validSpawnPayload();
    const parsed = AgentSpawnPayloadSchema.parse({
      ...withoutOptions,
      context: { repository: 'https://git.example.com/org/repo.git', branch: 'main' },
    });
    expect(parsed.options).toEqual({ timeout: 3_600_000, maxRetries: 0 });
    expect(parsed.context.workItems).toEqual([]);
    expect(parsed.context.instructions).toBe('');
  });

  it('taskId: 1 to 128 of [A-Za-z0-9._:-]', () => {
    const taskId = (n: number) => ({ ...validSpawnPayload(), taskId: 'a'.repeat(n) });
    expectLimit(taskId, 128, 127, 129);
    expectLimit(taskId, 1, 2, 0);
    expect(accepts({ ...validSpawnPayload(), taskId: 'Task_1.2:x-y' })).toBe(true);
    for (const bad of ['task/1', 'task 1', 'tâche', 'task\n1', 'task@1']) {
      expect(accepts({ ...validSpawnPayload(), taskId: bad }), bad).toBe(false);
    }
  });

  it('agentType: worker, reviewer or tester', () => {
    for (const type of ['worker', 'reviewer', 'tester']) {
      expect(accepts({ ...validSpawnPayload(), agentType: type })).toBe(true);
    }
    for (const type of ['admin', 'Worker', '']) {
      expect(accepts({ ...validSpawnPayload(), agentType: type })).toBe(false);
    }
  });

  it('repository: up to 512 characters', () => {
    const repository = (n: number) => withContext({ repository: `git.example.com/${'r'.repeat(n - 16)}` });
    expectLimit(repository, 512, 511, 513);
  });

  it('repository: a URL or host/path, no whitespace or control characters, no leading "-"', () => {
    for (const good of [
      'git.example.com/org/repo',
      'git.example.com:8443/org/repo',
      'https://git.example.com/org/repo.git',
      'ssh://git@git.example.com/org/repo.git',
      'git@git.example.com:org/repo.git',
      'file:///srv/git/repo',
      'https://github.com/org/.github',
      'https://github.com/org/re..po',
    ]) {
      expect(accepts(withContext({ repository: good })), good).toBe(true);
    }
    for (const bad of [
      '-uhelp',
      '--upload-pack=touch /tmp/pwned',
      'git.example.com/org/my repo',
      'git.example.com/org/repo\t',
      'git.example.com/org/re\u0000po',
      'git.example.com/org/re\u007fpo',
      'git.example.com/org/repo\n--config=x',
      'repo',
      '',
      // Credentials stay with the spoke (issue 16): a token as the user name included.
      'http://alice:s3cr3t@git.example.com/org/repo',
      'https://ghp_0123456789abcdef@github.com/org/repo.git',
      'https://x-access-token:tok@github.com/org/repo.git',
      'git://user@git.example.com/org/repo',
      'ssh://git:hunter2@git.example.com/org/repo.git',
      // A dot segment or a backslash: the clone would resolve it to another repository
      // than the one the connection's `repositories` patterns were matched against.
      'https://github.com/acme/../evil/repo',
      'https://github.com/acme/%2e%2E/evil/repo',
      'https://github.com/acme/./repo',
      'https://github.com/acme\\..\\evil',
      'github.com/acme/..',
      'git@git.example.com:../etc/repo',
    ]) {
      expect(accepts(withContext({ repository: bad })), JSON.stringify(bad)).toBe(false);
    }
  });

  it('branch: up to 255 characters', () => {
    const branch = (n: number) => withContext({ branch: `feature/${'b'.repeat(n - 8)}` });
    expectLimit(branch, 255, 254, 256);
  });

  it('workItems: up to 100 strings of 1 to 256 characters', () => {
    const count = (n: number) => withContext({ workItems: Array.from({ length: n }, (_, i) => `item-${i}`) });
    expectLimit(count, 100, 99, 101);
    const length = (n: number) => withContext({ workItems: ['x'.repeat(n)] });
    expectLimit(length, 256, 255, 257);
    expectLimit(length, 1, 2, 0);
  });

  it('instructions: up to 64 KiB, counted in UTF-8 bytes', () => {
    const ascii = (n: number) => withContext({ instructions: 'i'.repeat(n) });
    expectLimit(ascii, 65_536, 65_535, 65_537);
    // 32,768 two-byte characters are exactly 64 KiB; one more ASCII byte is over.
    expect(accepts(withContext({ instructions: 'é'.repeat(32_768) }))).toBe(true);
    expect(accepts(withContext({ instructions: `${'é'.repeat(32_768)}!` }))).toBe(false);
  });

  it('options.timeout: 1,000 to 86,400,000 ms, whole numbers', () => {
    const timeout = (n: number) => withOptions({ timeout: n });
    expectLimit(timeout, 1_000, 1_001, 999);
    expectLimit(timeout, 86_400_000, 86_399_999, 86_400_001);
    expect(accepts(withOptions({ timeout: 1_500.5 }))).toBe(false);
    expect(accepts(withOptions({ timeout: '3600000' }))).toBe(false);
  });

  it('options.maxRetries: 0 to 10', () => {
    const retries = (n: number) => withOptions({ maxRetries: n });
    expectLimit(retries, 10, 9, 11);
    expectLimit(retries, 0, 1, -1);
  });

  it('rejects unknown fields at every level', () => {
    expect(accepts({ ...validSpawnPayload(), priority: 'high' })).toBe(false);
    expect(accepts(withContext({ ...{ token: 'secret' } } as Partial<Payload['context']>))).toBe(false);
    expect(accepts(withOptions({ sandbox: 'none' }))).toBe(false);
  });

  it('lists every offending field in VALIDATION_FAILED', () => {
    const payload = { ...withContext({ branch: 'a..b', repository: '-x' }), taskId: '' };
    let caught: unknown;
    try {
      parseOrThrow(AgentSpawnPayloadSchema, payload);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FederationError);
    const error = caught as FederationError;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.details?.map((d) => d.path).sort()).toEqual(['context.branch', 'context.repository', 'taskId']);
  });
});

describe('branch names follow git check-ref-format --branch', () => {
  const valid = [
    'main',
    'feature/login',
    'release-1.2.3',
    'user@host',
    'a.b',
    'fix_#42',
    'deeply/nested/topic/branch',
    'ünïcode',
  ];
  const invalid: [string, string][] = [
    ['a..b', '".."'],
    ['-leading-dash', 'leading "-"'],
    ['topic@{1}', '"@{"'],
    ['topic.lock', 'trailing ".lock"'],
    ['topic.lock/child', 'component ending ".lock"'],
    ['bell\u0007', 'control character'],
    ['new\nline', 'control character'],
    ['del\u007f', 'DEL'],
    ['with space', 'space'],
    ['tilde~1', '"~"'],
    ['caret^', '"^"'],
    ['colon:x', '":"'],
    ['what?', '"?"'],
    ['star*', '"*"'],
    ['bracket[', '"["'],
    ['back\\slash', 'backslash'],
    ['@', '"@" alone'],
    ['HEAD', 'HEAD'],
    ['/leading', 'leading "/"'],
    ['trailing/', 'trailing "/"'],
    ['double//slash', '"//"'],
    ['ends.', 'trailing "."'],
    ['.hidden', 'component starting "."'],
    ['topic/.hidden', 'component starting "."'],
    ['', 'empty'],
  ];

  it.each(valid)('accepts %s', (branch) => {
    expect(BranchSchema.safeParse(branch).success).toBe(true);
  });

  it.each(invalid)('rejects %j (%s)', (branch) => {
    const result = BranchSchema.safeParse(branch);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/git branch name|Too small|too small/);
  });

  it('agrees with git itself on every sample', () => {
    const git = spawnSync('git', ['--version']);
    if (git.error !== undefined) {
      if (process.env.CI === 'true') throw new Error('git is not installed, and CI needs it');
      console.warn('git is not installed: skipping the comparison with git check-ref-format');
      return;
    }
    for (const branch of [...valid, ...invalid.map(([b]) => b)]) {
      const result = spawnSync('git', ['check-ref-format', '--branch', branch], { encoding: 'utf8' });
      // `--branch` expands "@{-1}"-style names and accepts "HEAD" as a symbolic name in
      // some versions; the protocol never wants either as a branch to work on.
      if (branch === 'HEAD' || branch === '@') continue;
      expect(BranchSchema.safeParse(branch).success, branch).toBe(result.status === 0);
    }
  });
});

describe('other payload limits', () => {
  it('agents.list limit: 1 to 500', () => {
    const ok = (limit: number) => AgentsListPayloadSchema.safeParse({ limit }).success;
    expect([ok(1), ok(2), ok(0)]).toEqual([true, true, false]);
    expect([ok(500), ok(499), ok(501)]).toEqual([true, true, false]);
    expect(AgentsListPayloadSchema.safeParse({ status: 'running', taskId: 'task-1' }).success).toBe(true);
    expect(AgentsListPayloadSchema.safeParse({ status: 'paused' }).success).toBe(false);
    expect(AgentsListPayloadSchema.safeParse({ owner: 'someone-else' }).success).toBe(false);
  });

  it('agents.status: 1 to 500 distinct agent ids, nothing else', () => {
    const ids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());
    const ok = (payload: unknown) => AgentsStatusPayloadSchema.safeParse(payload).success;
    expect([ok({ agentIds: ids(1) }), ok({ agentIds: ids(500) }), ok({ agentIds: ids(501) }), ok({ agentIds: [] })]).toEqual([true, true, false, false]);
    const [one] = ids(1);
    expect(ok({ agentIds: [one, one] })).toBe(false);
    expect(ok({ agentIds: ['not-a-uuid'] })).toBe(false);
    expect(ok({ agentIds: ids(2), status: 'running' })).toBe(false);
  });

  it('agent.status.changed carries a sequence from 1', () => {
    const status = {
      agentId: '3b241101-e2bb-4255-8caf-4136c566a962',
      taskId: 'task-123',
      agentType: 'worker',
      status: 'running',
      attempt: 1,
      spawnedAt: '2026-11-25T12:00:00.000Z',
      startedAt: '2026-11-25T12:00:01.000Z',
      completedAt: null,
      progress: { turns: 3, lastAction: 'ran the test suite' },
      result: null,
      error: null,
    };
    expect(AgentStatusChangedPayloadSchema.safeParse({ ...status, sequence: 1 }).success).toBe(true);
    // PROTOCOL 5, Approvals: a spoke's agent that waits for a person says what for.
    const waiting = { ...status, status: 'waiting', pendingApproval: { id: 'approval-1', kind: 'plan', summary: 'Edit calc.sh, then run the tests.' } };
    expect(AgentStatusChangedPayloadSchema.safeParse({ ...waiting, sequence: 2 }).success).toBe(true);
    expect(AgentStatusChangedPayloadSchema.safeParse({ ...waiting, pendingApproval: { id: '', kind: 'plan', summary: 'x' }, sequence: 2 }).success).toBe(false);
    expect(AgentStatusChangedPayloadSchema.safeParse({ ...status, sequence: 0 }).success).toBe(false);
    expect(AgentStatusChangedPayloadSchema.safeParse(status).success).toBe(false);
  });
});

describe('approvals (PROTOCOL 5, Approvals)', () => {
  it('takes options.approval "none" or "plan", and leaves it out when not given', () => {
    const payload = validSpawnPayload();
    expect(AgentSpawnPayloadSchema.parse({ ...payload, options: { approval: 'plan' } }).options).toMatchObject({ approval: 'plan' });
    expect(AgentSpawnPayloadSchema.parse({ ...payload, options: { approval: 'none' } }).options.approval).toBe('none');
    expect(AgentSpawnPayloadSchema.parse(payload).options).not.toHaveProperty('approval');
    expect(AgentSpawnPayloadSchema.safeParse({ ...payload, options: { approval: 'tools' } }).success).toBe(false);
  });

  it('takes an agent.respond with an approval id, approve or reject, and a note of at most 4,000 characters', () => {
    const answer = { agentId: crypto.randomUUID(), approvalId: 'approval-1', decision: 'approve' };
    expect(AgentRespondPayloadSchema.safeParse(answer).success).toBe(true);
    expect(AgentRespondPayloadSchema.safeParse({ ...answer, decision: 'reject', note: 'x'.repeat(4_000) }).success).toBe(true);
    expect(AgentRespondPayloadSchema.safeParse({ ...answer, note: 'x'.repeat(4_001) }).success).toBe(false);
    expect(AgentRespondPayloadSchema.safeParse({ ...answer, decision: 'maybe' }).success).toBe(false);
    expect(AgentRespondPayloadSchema.safeParse({ ...answer, approvalId: '' }).success).toBe(false);
    expect(AgentRespondPayloadSchema.safeParse({ ...answer, extra: true }).success).toBe(false);
  });
});

describe('tokensOf', () => {
  it("counts every token of a run, the prompt cache's included", () => {
    expect(tokensOf({ inputTokens: 10, outputTokens: 5 })).toBe(15);
    const cached = { inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 100, cacheCreationInputTokens: 20 };
    expect(inputTokensOf(cached)).toBe(130);
    expect(tokensOf(cached)).toBe(135);
  });
});
