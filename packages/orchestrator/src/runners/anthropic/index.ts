// The built-in runners: `worker`, `reviewer` and `tester`, each a Claude agent driven by
// the official SDK's tool runner with the bash and editor tools working in the sandbox.
import Anthropic from '@anthropic-ai/sdk';
import type { BetaMessage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { AgentArtifact, AgentResult, AgentSpawnPayload, AgentType, AgentUsage } from '@mosaic-fed/core';
import type { AgentRunContext, AgentRunner, AgentRunners } from '../types.js';
import { AgentFailure } from '../../lib/failure.js';
import { redactCredentials } from '../../lib/redact.js';
import type { Sandbox } from '../../sandboxes/types.js';
import { createSandboxTools } from './tools.js';

export { createSandboxTools, MAX_FILE_BYTES } from './tools.js';
export type { SandboxToolsOptions } from './tools.js';

export interface ClaudeRunnerOptions {
  /**
   * A configured client. Default: `new Anthropic({ apiKey, baseURL })`, which falls back
   * to the `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` environment variables.
   */
  client?: Anthropic;
  apiKey?: string;
  baseURL?: string;
  /** Default `claude-sonnet-5-5`. */
  model?: string;
  /** Model requests per attempt before the agent stops. Default 50. */
  maxTurns?: number;
  /** Per-command timeout in milliseconds. Default 120,000. */
  commandTimeoutMs?: number;
  /** Default 8,192. */
  maxTokens?: number;
}

interface Role {
  goal: string;
  /** Turns the final answer into the result (besides the patch). */
  result(text: string): Pick<AgentResult, 'summary' | 'artifacts'>;
}

const ROLES: Record<AgentType, Role> = {
  worker: {
    goal: 'Make the changes the task asks for, and check them (run the tests if the project has any). When you are done, answer with a short summary of what you changed and why.',
    result: (text) => ({ summary: text }),
  },
  reviewer: {
    goal: 'Review the code on this branch against the task. Do not change any file. Answer with a one-line verdict, then your findings as a Markdown list, each with the file and line it concerns.',
    result: (text) => ({ summary: firstLine(text), artifacts: [artifact('findings.md', text)] }),
  },
  tester: {
    goal: 'Find out how this project runs its tests, run them, and report. Do not change any file. Answer with a one-line outcome (passed or failed, with counts), then the details of every failure.',
    result: (text) => ({ summary: firstLine(text), artifacts: [artifact('test-report.md', text)] }),
  },
};

/**
 * The three built-in runners over one Anthropic client.
 *
 * Every turn sends the full history (`thread: false`): the agent's repository content
 * is not kept in server-side threads, each request stands alone (so a retried request
 * is harmless), and the scripted Messages server used offline stays stateless.
 *
 * @example
 * ```ts
 * const runners = createClaudeRunners({ client: new Anthropic({ apiKey }) });
 * ```
 */
export function createClaudeRunners(options: ClaudeRunnerOptions): AgentRunners {
  const maxTurns = options.maxTurns ?? 50;
  if (!Number.isInteger(maxTurns) || maxTurns < 1) throw new TypeError('createClaudeRunners: maxTurns must be a whole number of at least 1');
  const client =
    options.client ??
    new Anthropic({
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    });
  const runners: AgentRunners = {};
  for (const type of Object.keys(ROLES) as AgentType[]) runners[type] = claudeRunner(ROLES[type], { ...options, client, maxTurns });
  return runners;
}

function claudeRunner(role: Role, options: ClaudeRunnerOptions & { client: Anthropic; maxTurns: number }): AgentRunner {
  return {
    async run(context: AgentRunContext) {
      const tools = createSandboxTools({
        sandbox: context.sandbox,
        signal: context.signal,
        commandTimeoutMs: options.commandTimeoutMs ?? 120_000,
      });
      const runner = options.client.beta.messages.toolRunner(
        {
          model: options.model ?? 'claude-sonnet-5-5',
          max_tokens: options.maxTokens ?? 8_192,
          system: systemPrompt(role, context.spec, context.sandbox),
          messages: [{ role: 'user', content: taskPrompt(context.spec) }],
          tools,
          max_iterations: options.maxTurns,
          thread: false,
        },
        { signal: context.signal },
      );
      const usage: AgentUsage = { inputTokens: 0, outputTokens: 0 };
      let last: BetaMessage | undefined;
      let turns = 0;
      try {
        for await (const message of runner) {
          last = message;
          turns++;
          addUsage(usage, message);
          context.reportProgress({ turns, lastAction: describeTurn(message) });
        }
      } catch (error) {
        throw modelFailure(error, context.signal);
      }
      if (last === undefined) throw new AgentFailure('the model gave no answer');
      if (last.stop_reason === 'tool_use') throw new AgentFailure(`the agent reached its limit of ${options.maxTurns} turns`);
      if (last.stop_reason === 'refusal') throw new AgentFailure('the model declined the task');
      const text = last.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n').trim();
      return { ...role.result(text === '' ? 'The agent finished without a summary.' : text), usage };
    },
  };
}

/** What the peer reads of a failed model call: the kind of failure, not the API's text. */
function modelFailure(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  if (error instanceof Anthropic.APIConnectionError) return new AgentFailure('the spoke could not reach the model');
  if (error instanceof Anthropic.APIError) return new AgentFailure(`the model's API answered ${error.status ?? 'with an error'}`);
  return error;
}

function systemPrompt(role: Role, spec: AgentSpawnPayload, sandbox: Sandbox): string {
  // No credential reaches the model, even one a local caller put in the URL.
  const repository = redactCredentials(spec.context.repository);
  const network = sandbox.isolation === 'process' ? '' : ' There is no network.';
  return [
    `You are a ${spec.agentType} agent of Mosaic Federation, working in a checkout of ${repository} at branch ${spec.context.branch}.`,
    `The repository is at ${sandbox.workdir}. Every bash command starts there in a fresh shell: use \`cd dir && ...\` within one command.${network}`,
    role.goal,
  ].join('\n');
}

function taskPrompt(spec: AgentSpawnPayload): string {
  const items = spec.context.workItems.length === 0 ? '' : `\n\nWork items:\n${spec.context.workItems.map((item) => `- ${item}`).join('\n')}`;
  return `Task ${spec.taskId}.${items}\n\n${spec.context.instructions || 'No further instructions.'}`;
}

function addUsage(total: AgentUsage, message: BetaMessage): void {
  total.inputTokens += message.usage.input_tokens;
  total.outputTokens += message.usage.output_tokens;
  if (message.usage.cache_read_input_tokens != null) {
    total.cacheReadInputTokens = (total.cacheReadInputTokens ?? 0) + message.usage.cache_read_input_tokens;
  }
  if (message.usage.cache_creation_input_tokens != null) {
    total.cacheCreationInputTokens = (total.cacheCreationInputTokens ?? 0) + message.usage.cache_creation_input_tokens;
  }
}

/** The turn in a few words, for the progress line the hub shows. */
function describeTurn(message: BetaMessage): string {
  const calls = message.content.flatMap((block) => (block.type === 'tool_use' ? [block] : []));
  const last = calls.at(-1);
  if (last === undefined) return 'wrote its answer';
  const input = last.input as { command?: unknown; path?: unknown };
  if (last.name === 'bash') return `ran ${clip(String(input.command ?? ''), 200)}`;
  return `${String(input.command ?? 'edit')} ${String(input.path ?? '')}`.trim();
}

function firstLine(text: string): string {
  return clip(text.split('\n').find((line) => line.trim() !== '') ?? text, 500);
}

function clip(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function artifact(name: string, content: string): AgentArtifact {
  return { name, mediaType: 'text/markdown', content };
}
