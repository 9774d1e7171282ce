// Setup before the agent: the spoke admin's commands for each agent type (for example
// `npm ci`), and the repository's own setup file where the admin allows it, run in the
// sandbox before the model's first turn. Each is in the transcript; one that fails ends
// the attempt with a reason that names it. New files setup leaves are not the agent's
// changes (where the sandbox has git).
import type { AgentType } from '@mosaic-fed/core';
import { AgentFailure } from './lib/failure.js';
import { clip, transcriptText } from './lib/transcript-text.js';
import type { TranscriptRecord } from './runners/types.js';
import type { Sandbox } from './sandboxes/types.js';

/** The file a repository may carry with its own setup, run with `sh` where allowed. */
export const REPOSITORY_SETUP_FILE = '.mosaic/setup.sh';

export interface SetupOptions {
  /** Shell commands per agent type, run in order in the repository's root. */
  commands?: Partial<Record<AgentType, readonly string[]>>;
  /** Run the repository's own {@link REPOSITORY_SETUP_FILE} when it has one, after the commands. Default false. */
  repositoryFile?: boolean;
  /** Each command's time limit, in milliseconds. Default 600,000. */
  timeoutMs?: number;
}

/** Runs the setup of one attempt; throws an {@link AgentFailure} naming the step that failed. */
export async function runSetup(
  sandbox: Sandbox,
  agentType: AgentType,
  options: SetupOptions,
  context: { signal: AbortSignal; record(entry: TranscriptRecord): void; report(step: string): void },
): Promise<void> {
  const steps = [...(options.commands?.[agentType] ?? [])];
  if (options.repositoryFile === true) {
    const present = await sandbox.exec(`test -f ${REPOSITORY_SETUP_FILE}`, { timeoutMs: 10_000, signal: context.signal });
    if (present.exitCode === 0) steps.push(`sh ${REPOSITORY_SETUP_FILE}`);
  }
  const timeoutMs = options.timeoutMs ?? 600_000;
  for (const command of steps) {
    context.report(`setting up: ${command}`);
    const result = await sandbox.exec(command, { timeoutMs, signal: context.signal });
    context.signal.throwIfAborted();
    const failed = result.timedOut || result.exitCode !== 0;
    const output = [result.stdout, result.stderr].map((part) => part.replace(/\n$/, '')).filter((part) => part !== '').join('\n');
    context.record({
      kind: 'setup',
      turn: 0,
      input: transcriptText(sandbox, command, 2_000),
      output: transcriptText(sandbox, output || '(no output)', 4_000),
      ...(failed ? { isError: true } : {}),
    });
    if (result.timedOut) throw new AgentFailure(`the setup step "${clip(command, 200)}" ran past ${Math.round(timeoutMs / 1000)} s`);
    if (failed) throw new AgentFailure(`the setup step "${clip(command, 200)}" failed with exit code ${result.exitCode}`);
  }
  // What setup left that git would take for new files (an install's output that the
  // repository does not ignore) is not the agent's work: it is kept out of its changes.
  if (steps.length > 0) {
    await sandbox.exec('command -v git >/dev/null 2>&1 && git ls-files --others --exclude-standard >> .git/info/exclude || true', {
      timeoutMs: 60_000,
      signal: context.signal,
    });
  }
}
