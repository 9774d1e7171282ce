// The Anthropic-defined tools, implemented against the agent's sandbox: `bash_20250124`
// and `text_editor_20250728`. The model knows their schemas; only `run` is ours.
import type { BetaRunnableTool } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import { inSpan } from '@mosaic-fed/sdk/tracing';
import { z } from 'zod';
import { resolveInside } from '../../lib/output.js';
import { Semaphore } from '../../lib/semaphore.js';
import type { Sandbox } from '../../sandboxes/types.js';

/** Files larger than this are not read into the conversation. */
export const MAX_FILE_BYTES = 256 * 1024;

/**
 * A `view` shows at most this many characters of a file; the rest is left out with a
 * note saying how to read it (the editor tool's `max_characters`).
 */
export const MAX_VIEW_CHARACTERS = 24_000;

/** A tool call as the model made it, and what it answered (before any clipping). */
export interface ToolCall {
  tool: 'bash' | 'str_replace_based_edit_tool';
  /** The command, or the editor's input as JSON. */
  input: string;
  output: string;
  isError: boolean;
}

/** A bash command the agent ran, and how it ended. */
export interface CommandRun {
  command: string;
  exitCode: number;
  timedOut: boolean;
}

export interface SandboxToolsOptions {
  sandbox: Sandbox;
  /** Aborts running commands (kill, timeout). */
  signal: AbortSignal;
  /** Per-command timeout in milliseconds. */
  commandTimeoutMs: number;
  /** Told of every bash command once it has ended. */
  onCommand?: (run: CommandRun) => void;
  /** Told of every tool call once it has answered. */
  onCall?: (call: ToolCall) => void;
  /**
   * Asked before a command runs or a file is touched; what it throws is the tool's error
   * (PROTOCOL 5, Approvals: a plan not yet approved, a command a person did not approve).
   * It may wait: for a person's answer, say. The calls after it wait in line.
   */
  gate?: (call: GatedCall) => Promise<void>;
}

/** What a tool call is about to do, for {@link SandboxToolsOptions.gate}. */
export type GatedCall =
  | { tool: 'bash'; command: string }
  | { tool: 'str_replace_based_edit_tool'; command: 'view' | 'create' | 'str_replace' | 'insert'; path: string };

const BashInputSchema = z.object({ command: z.string().optional(), restart: z.boolean().optional() });

const EditorInputSchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('view'), path: z.string(), view_range: z.tuple([z.number().int(), z.number().int()]).optional() }),
  z.object({ command: z.literal('create'), path: z.string(), file_text: z.string() }),
  z.object({ command: z.literal('str_replace'), path: z.string(), old_str: z.string(), new_str: z.string().optional() }),
  // The editor's insert may arrive with `insert_text` or `new_str`: accept both.
  z.object({
    command: z.literal('insert'),
    path: z.string(),
    insert_line: z.number().int().min(0),
    insert_text: z.string().optional(),
    new_str: z.string().optional(),
  }),
]);
type EditorInput = z.infer<typeof EditorInputSchema>;

/**
 * The two tools for one attempt. All tool calls of a turn run at once in the SDK's tool
 * runner; they share one sandbox, so they queue here and run one after the other.
 */
export function createSandboxTools(options: SandboxToolsOptions): BetaRunnableTool[] {
  const { sandbox, signal, commandTimeoutMs, onCommand, onCall, gate } = options;
  const queue = new Semaphore(1);
  /** Runs one call after the others, and tells `onCall` how it went. */
  const serial = async (tool: ToolCall['tool'], input: string, work: () => Promise<string>): Promise<string> => {
    await queue.acquire(signal);
    try {
      const output = await work();
      onCall?.({ tool, input, output, isError: false });
      return output;
    } catch (error) {
      onCall?.({ tool, input, output: error instanceof Error ? error.message : String(error), isError: true });
      throw error;
    } finally {
      queue.release();
    }
  };

  const bash: BetaRunnableTool<z.infer<typeof BashInputSchema>> = {
    type: 'bash_20250124',
    name: 'bash',
    parse: (input) => BashInputSchema.parse(input),
    run: ({ command, restart }) =>
      serial('bash', restart === true ? '(restart)' : (command ?? ''), async () => {
        if (restart === true) return 'The shell was restarted. Every command starts in the repository root.';
        if (command === undefined || command.trim() === '') throw new Error('give a command to run');
        await gate?.({ tool: 'bash', command });
        // The program's name only: a command's arguments may hold what a trace must not carry.
        const program = command.trim().split(/\s+/)[0] ?? '';
        const result = await inSpan('sandbox.exec', { attributes: { 'process.executable.name': program.slice(0, 100) } }, async (span) => {
          const ran = await sandbox.exec(command, { timeoutMs: commandTimeoutMs, signal });
          span.setAttribute('process.exit.code', ran.exitCode);
          return ran;
        });
        onCommand?.({ command, exitCode: result.exitCode, timedOut: result.timedOut });
        const parts = [result.stdout.replace(/\n$/, '')];
        if (result.stderr !== '') parts.push(`[stderr]\n${result.stderr.replace(/\n$/, '')}`);
        if (result.timedOut) parts.push(`[stopped after ${Math.round(commandTimeoutMs / 1000)} s]`);
        else if (result.exitCode !== 0) parts.push(`[exit code ${result.exitCode}]`);
        return parts.filter((part) => part !== '').join('\n') || '(no output)';
      }),
  };

  const editor: BetaRunnableTool<EditorInput> = {
    type: 'text_editor_20250728',
    name: 'str_replace_based_edit_tool',
    max_characters: MAX_VIEW_CHARACTERS,
    parse: (input) => EditorInputSchema.parse(input),
    run: (input) =>
      serial('str_replace_based_edit_tool', JSON.stringify(input), async () => {
        await gate?.({ tool: 'str_replace_based_edit_tool', command: input.command, path: input.path });
        return edit(sandbox, input, { signal, commandTimeoutMs });
      }),
  };

  return [bash, editor];
}

async function edit(sandbox: Sandbox, input: EditorInput, options: { signal: AbortSignal; commandTimeoutMs: number }): Promise<string> {
  switch (input.command) {
    case 'view': {
      const target = quote(resolveInside(sandbox.workdir, input.path));
      const listing = await sandbox.exec(`if [ -d ${target} ]; then find ${target} -maxdepth 2 -not -path '*/.*' | sort; else echo __FILE__; fi`, {
        timeoutMs: options.commandTimeoutMs,
        signal: options.signal,
      });
      if (listing.exitCode === 0 && listing.stdout.trim() !== '__FILE__') return listing.stdout;
      const lines = (await readText(sandbox, input.path)).split('\n');
      const [from, to] = input.view_range ?? [1, lines.length];
      const start = Math.max(from, 1);
      const end = to === -1 ? lines.length : Math.min(to, lines.length);
      let shown = '';
      for (let number = start; number <= end; number++) {
        const line = `${String(number).padStart(6)}\t${lines[number - 1] ?? ''}`;
        if (shown.length + line.length + 1 > MAX_VIEW_CHARACTERS) {
          if (shown === '') shown = line.slice(0, MAX_VIEW_CHARACTERS);
          return `${shown}\n[clipped: lines ${number} to ${end} of ${lines.length} are not shown; view them with view_range]`;
        }
        shown += shown === '' ? line : `\n${line}`;
      }
      return shown;
    }
    case 'create':
      await sandbox.writeFile(input.path, input.file_text);
      return `Created ${input.path}.`;
    case 'str_replace': {
      const text = await readText(sandbox, input.path);
      const count = text.split(input.old_str).length - 1;
      if (count === 0) throw new Error(`old_str does not appear in ${input.path}; view the file and copy the text exactly`);
      if (count > 1) throw new Error(`old_str appears ${count} times in ${input.path}; include more context so it is unique`);
      await sandbox.writeFile(input.path, text.replace(input.old_str, () => input.new_str ?? ''));
      return `Edited ${input.path}.`;
    }
    case 'insert': {
      const addition = input.insert_text ?? input.new_str;
      if (addition === undefined) throw new Error('give insert_text with the lines to insert');
      const lines = (await readText(sandbox, input.path)).split('\n');
      if (input.insert_line > lines.length) throw new Error(`${input.path} has ${lines.length} lines; insert_line is past its end`);
      lines.splice(input.insert_line, 0, ...addition.split('\n'));
      await sandbox.writeFile(input.path, lines.join('\n'));
      return `Inserted into ${input.path} after line ${input.insert_line}.`;
    }
  }
}

async function readText(sandbox: Sandbox, path: string): Promise<string> {
  const text = await sandbox.readFile(path);
  if (new TextEncoder().encode(text).byteLength > MAX_FILE_BYTES) {
    throw new Error(`${path} is over ${MAX_FILE_BYTES / 1024} KiB; use bash (head, sed -n) to read parts of it`);
  }
  return text;
}

/** Quotes a value for `sh`. */
function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
