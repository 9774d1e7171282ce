import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxTools, MAX_FILE_BYTES, MAX_VIEW_CHARACTERS, type CommandRun } from '../src/anthropic.js';
import type { ToolCall } from '../src/runners/anthropic/tools.js';
import type { Sandbox } from '../src/sandboxes/types.js';
import { processSandboxes } from './helpers.js';

// The two tools the model works with, against a real sandbox (a process one over a copy
// of a small repository): what each answers the model, and what it refuses, in words it
// can act on.
const source = mkdtempSync(join(tmpdir(), 'mosaic-tools-source-'));
writeFileSync(join(source, 'notes.txt'), 'one\ntwo\nthree');
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await processSandboxes().create({ agentId: 'c1b2c3d4-0000-4000-8000-000000000000', source });
});
afterAll(async () => {
  await sandbox.destroy();
  rmSync(source, { recursive: true, force: true });
});

function tools(options: { gate?: Parameters<typeof createSandboxTools>[0]['gate']; commandTimeoutMs?: number } = {}) {
  const calls: ToolCall[] = [];
  const commands: CommandRun[] = [];
  const made = createSandboxTools({
    sandbox,
    signal: new AbortController().signal,
    commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
    onCall: (call) => calls.push(call),
    onCommand: (run) => commands.push(run),
    ...(options.gate === undefined ? {} : { gate: options.gate }),
  });
  const call = async (name: 'bash' | 'str_replace_based_edit_tool', input: unknown): Promise<string> => {
    const tool = made.find((candidate) => candidate.name === name);
    if (tool === undefined) throw new Error(`no tool ${name}`);
    return String(await tool.run(tool.parse(input)));
  };
  return { call, calls, commands, bash: (input: unknown) => call('bash', input), edit: (input: unknown) => call('str_replace_based_edit_tool', input) };
}

describe('the bash tool', () => {
  it('answers with the output, the error stream and the exit code, says when there was nothing, and restarts', async () => {
    const { bash, calls, commands } = tools();
    expect(await bash({ command: 'echo hi; echo oops >&2; exit 4' })).toBe('hi\n[stderr]\noops\n[exit code 4]');
    expect(await bash({ command: 'true' })).toBe('(no output)');
    expect(await bash({ restart: true })).toBe('The shell was restarted. Every command starts in the repository root.');
    await expect(bash({ command: '   ' })).rejects.toThrow('give a command to run');
    expect(commands).toEqual([
      { command: 'echo hi; echo oops >&2; exit 4', exitCode: 4, timedOut: false },
      { command: 'true', exitCode: 0, timedOut: false },
    ]);
    expect(calls.map((call) => [call.input, call.isError])).toEqual([
      ['echo hi; echo oops >&2; exit 4', false],
      ['true', false],
      ['(restart)', false],
      ['   ', true],
    ]);
  });

  it('stops a command at its timeout and says after how long', async () => {
    const { bash, commands } = tools({ commandTimeoutMs: 1_000 });
    expect(await bash({ command: 'echo started; sleep 10' })).toBe('started\n[stopped after 1 s]');
    expect(commands[0]?.timedOut).toBe(true);
  });

  it('runs nothing the gate refuses, and says why', async () => {
    const { bash, edit, commands } = tools({
      gate: (call) => Promise.reject(new Error(call.tool === 'bash' ? `not approved: ${call.command}` : `not approved: ${call.command} ${call.path}`)),
    });
    await expect(bash({ command: 'touch gated' })).rejects.toThrow('not approved: touch gated');
    await expect(edit({ command: 'create', path: 'gated.txt', file_text: 'x' })).rejects.toThrow('not approved: create gated.txt');
    expect(commands).toEqual([]);
    await expect(sandbox.readFile('gated.txt')).rejects.toThrow();
  });
});

describe('the text editor tool', () => {
  it('creates, views by line range, replaces a unique text and inserts lines; lists a folder', async () => {
    const { edit } = tools();
    expect(await edit({ command: 'create', path: 'src/list.txt', file_text: 'alpha\nbeta\ngamma\n' })).toBe('Created src/list.txt.');
    expect(await edit({ command: 'view', path: 'src/list.txt', view_range: [2, -1] })).toBe('     2\tbeta\n     3\tgamma\n     4\t');
    expect(await edit({ command: 'str_replace', path: 'src/list.txt', old_str: 'beta', new_str: 'BETA' })).toBe('Edited src/list.txt.');
    // insert takes `new_str` as well as `insert_text`.
    expect(await edit({ command: 'insert', path: 'src/list.txt', insert_line: 1, new_str: 'after alpha' })).toBe('Inserted into src/list.txt after line 1.');
    expect(await sandbox.readFile('src/list.txt')).toBe('alpha\nafter alpha\nBETA\ngamma\n');
    // str_replace without new_str deletes.
    await edit({ command: 'str_replace', path: 'src/list.txt', old_str: 'after alpha\n' });
    expect(await sandbox.readFile('src/list.txt')).toBe('alpha\nBETA\ngamma\n');
    const listing = await edit({ command: 'view', path: 'src' });
    expect(listing.split('\n').filter((line) => line !== '')).toEqual([`${sandbox.workdir}/src`, `${sandbox.workdir}/src/list.txt`]);
  });

  it('refuses what it cannot do exactly, saying what to do instead, and changes nothing', async () => {
    const { edit } = tools();
    await edit({ command: 'create', path: 'twice.txt', file_text: 'same\nsame\n' });
    await expect(edit({ command: 'str_replace', path: 'twice.txt', old_str: 'other', new_str: 'x' })).rejects.toThrow('old_str does not appear in twice.txt; view the file and copy the text exactly');
    await expect(edit({ command: 'str_replace', path: 'twice.txt', old_str: 'same', new_str: 'x' })).rejects.toThrow('old_str appears 2 times in twice.txt; include more context so it is unique');
    await expect(edit({ command: 'insert', path: 'twice.txt', insert_line: 1 })).rejects.toThrow('give insert_text with the lines to insert');
    await expect(edit({ command: 'insert', path: 'twice.txt', insert_line: 9, insert_text: 'x' })).rejects.toThrow('twice.txt has 3 lines; insert_line is past its end');
    expect(await sandbox.readFile('twice.txt')).toBe('same\nsame\n');
    await expect(edit({ command: 'view', path: '../outside.txt' })).rejects.toThrow(/outside the repository/);
  });

  it('clips a long view with how to read the rest, and reads no file over its size cap', async () => {
    const { edit } = tools();
    const line = 'x'.repeat(99);
    await edit({ command: 'create', path: 'long.txt', file_text: Array.from({ length: 400 }, () => line).join('\n') });
    const clipped = await edit({ command: 'view', path: 'long.txt' });
    expect(clipped.length).toBeLessThanOrEqual(MAX_VIEW_CHARACTERS + 200);
    expect(clipped).toMatch(/\n\[clipped: lines \d+ to 400 of 400 are not shown; view them with view_range\]$/);
    // One line longer than a view: its start, clipped.
    await edit({ command: 'create', path: 'wide.txt', file_text: 'y'.repeat(MAX_VIEW_CHARACTERS * 2) });
    const wide = await edit({ command: 'view', path: 'wide.txt' });
    expect(wide.startsWith(`     1\t${'y'.repeat(100)}`)).toBe(true);
    expect(wide).toContain('[clipped: lines 1 to 1 of 1 are not shown; view them with view_range]');

    await edit({ command: 'create', path: 'huge.txt', file_text: 'z'.repeat(MAX_FILE_BYTES + 1) });
    await expect(edit({ command: 'view', path: 'huge.txt' })).rejects.toThrow(`huge.txt is over ${String(MAX_FILE_BYTES / 1024)} KiB; use bash (head, sed -n) to read parts of it`);
  });
});
