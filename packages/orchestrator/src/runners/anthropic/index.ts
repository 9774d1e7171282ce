// The built-in runners: `worker`, `reviewer` and `tester`, each a Claude agent driven by
// the official SDK's tool runner with the bash and editor tools working in the sandbox.
// The conversation is cached (system prompt, tools and the growing history), sized for
// the model, kept inside its context window, and carried through the API's failures
// (conversation.ts); the checks the agent ran are taken from the sandbox.
import Anthropic from '@anthropic-ai/sdk';
import type { BetaMessage, BetaThinkingConfigParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { estimateCost, tokensOf, type AgentArtifact, type AgentCheck, type AgentResult, type AgentSpawnPayload, type AgentType, type AgentUsage, type PriceTable } from '@mosaic-fed/core';
import type { AgentRunContext, AgentRunner, AgentRunners } from '../types.js';
import { agentBranchOf } from '../../lib/agent-branch.js';
import { BudgetExhausted } from '../../lib/failure.js';
import { redactCredentials } from '../../lib/redact.js';
import { clip, transcriptText } from '../../lib/transcript-text.js';
import type { Sandbox } from '../../sandboxes/types.js';
import { PLAN_TOOL, runnerApprovals } from './approvals.js';
import { converse } from './conversation.js';
import { modelLimits, type ModelLimits } from './models.js';
import { createSandboxTools } from './tools.js';

export { PLAN_FIRST, PLAN_TOOL } from './approvals.js';
export { CLEARED_OUTPUT, CONTEXT_FULL } from './conversation.js';
export { modelLimits } from './models.js';
export type { ModelLimits } from './models.js';
export { createSandboxTools, MAX_FILE_BYTES, MAX_VIEW_CHARACTERS } from './tools.js';
export type { CommandRun, SandboxToolsOptions } from './tools.js';

export interface ClaudeRunnerOptions {
  /**
   * A configured client. Default: `new Anthropic({ apiKey, baseURL })`, which falls back
   * to the `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` environment variables. Its own
   * retries are turned off: the runner retries, for `retryForMs`.
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
  /** `max_tokens` of each request. Default by model family: 32,000 for Opus and Sonnet, 16,000 otherwise. */
  maxTokens?: number;
  /** A reply cut off by `max_tokens` is asked again with twice the room, up to this. Default by family: 64,000 or 32,000. */
  maxTokensCeiling?: number;
  /** The model's context window, in tokens; old tool outputs are cleared well before it fills. Default 200,000. */
  contextWindow?: number;
  /** The request's `thinking`; default: the model's own (adaptive thinking on current models). */
  thinking?: BetaThinkingConfigParam;
  /** The request's `output_config.effort`; default: the model's own. */
  effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max';
  /**
   * How long overload (529), rate limits (429), server errors and lost connections are
   * retried, with backoff, before the attempt fails. The agent's own `timeout` still
   * applies. Default 300,000 (five minutes).
   */
  retryForMs?: number;
  /** The backoff between retries, when the API gives no `retry-after`: doubling from `first` up to `max`. Default 1 s to 60 s. */
  retryDelayMs?: { first: number; max: number };
  /** What the model's tokens cost: every usage the runners report then carries an `estimatedCost`. Default none. */
  prices?: PriceTable;
}

interface Role {
  goal: string;
  /** Turns the final answer into the result (besides the patch). */
  result(text: string): Pick<AgentResult, 'summary' | 'artifacts'>;
}

const ROLES: Record<AgentType, Role> = {
  worker: {
    goal: 'Make the changes the task asks for, and check them (run the tests if the project has any). Commit your work with git, with messages that say what changed and why. When you are done, answer with a short summary of what you changed and why.',
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

/** Old tool uses are cleared by the API's context management from this share of the window on. */
const CLEAR_TOOL_USES_AT = 0.6;

interface Settings {
  client: Anthropic;
  model: string;
  maxTurns: number;
  commandTimeoutMs: number;
  limits: ModelLimits;
  retryForMs: number;
  retryDelayMs: { first: number; max: number };
  thinking: BetaThinkingConfigParam | undefined;
  effort: ClaudeRunnerOptions['effort'];
  prices: PriceTable | undefined;
}

/**
 * The three built-in runners over one Anthropic client.
 *
 * Every turn sends the full history (`thread: false`): the agent's repository content
 * is not kept in server-side threads, each request stands alone (so a retried request
 * is harmless), and the stand-in Messages server used offline stays stateless. Prompt
 * caching makes the resent history cheap.
 *
 * @example
 * ```ts
 * const runners = createClaudeRunners({ client: new Anthropic({ apiKey }) });
 * ```
 */
export function createClaudeRunners(options: ClaudeRunnerOptions): AgentRunners {
  const maxTurns = options.maxTurns ?? 50;
  if (!Number.isInteger(maxTurns) || maxTurns < 1) throw new TypeError('createClaudeRunners: maxTurns must be a whole number of at least 1');
  const retryForMs = options.retryForMs ?? 300_000;
  if (!Number.isFinite(retryForMs) || retryForMs < 0) throw new TypeError('createClaudeRunners: retryForMs must be a number of milliseconds, 0 or more');
  const model = options.model ?? 'claude-sonnet-5-5';
  const client = (
    options.client ??
    new Anthropic({
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    })
  ).withOptions({ maxRetries: 0 });
  const settings: Settings = {
    client,
    model,
    maxTurns,
    commandTimeoutMs: options.commandTimeoutMs ?? 120_000,
    limits: modelLimits(model, {
      ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
      ...(options.maxTokensCeiling === undefined ? {} : { maxTokensCeiling: options.maxTokensCeiling }),
      ...(options.contextWindow === undefined ? {} : { contextWindow: options.contextWindow }),
    }),
    retryForMs,
    retryDelayMs: options.retryDelayMs ?? { first: 1_000, max: 60_000 },
    thinking: options.thinking,
    effort: options.effort,
    prices: options.prices,
  };
  const runners: AgentRunners = {};
  for (const type of Object.keys(ROLES) as AgentType[]) runners[type] = claudeRunner(ROLES[type], settings);
  return runners;
}

function claudeRunner(role: Role, settings: Settings): AgentRunner {
  return {
    async run(context: AgentRunContext) {
      const checks = new Map<string, AgentCheck>();
      let turns = 0;
      const approvals = runnerApprovals(context, () => turns);
      const sandboxTools = createSandboxTools({
        sandbox: context.sandbox,
        signal: context.signal,
        commandTimeoutMs: settings.commandTimeoutMs,
        onCall: (call) =>
          context.record({
            kind: 'tool',
            turn: turns,
            tool: call.tool,
            input: transcriptText(context.sandbox, call.input, 2_000),
            output: transcriptText(context.sandbox, call.output, 4_000),
            ...(call.isError ? { isError: true } : {}),
          }),
        onCommand: (run) => {
          if (!isCheck(run.command)) return;
          // The last run of each command is what it came to.
          checks.delete(run.command);
          checks.set(run.command, { command: run.command.slice(0, 1_000), exitCode: run.exitCode, ...(run.timedOut ? { timedOut: true } : {}) });
        },
        gate: approvals.gate,
      });
      // The tools and the system prompt are the same every turn: markers on the last tool
      // and on the system prompt keep both in the cache.
      const allTools = [...sandboxTools, ...approvals.tools];
      const tools = allTools.map((tool, index) => (index === allTools.length - 1 ? { ...tool, cache_control: { type: 'ephemeral' as const } } : tool));
      const usage: AgentUsage = { inputTokens: 0, outputTokens: 0 };
      const { limits } = settings;
      const { final } = await converse({
        client: settings.client,
        params: {
          model: settings.model,
          max_tokens: limits.maxTokens,
          system: [
            {
              type: 'text',
              text: [systemPrompt(role, context.spec, context.sandbox, agentBranchOf(context.agentId)), approvals.prompt].filter((part) => part !== '').join('\n'),
              cache_control: { type: 'ephemeral' },
            },
          ],
          messages: [{ role: 'user', content: taskPrompt(context.spec) }],
          tools,
          // The growing conversation: the API puts this marker on the last block of each request.
          cache_control: { type: 'ephemeral' },
          // Old tool outputs are cleared server-side long before the window fills.
          betas: ['context-management-2025-06-27'],
          context_management: {
            edits: [
              {
                type: 'clear_tool_uses_20250919',
                trigger: { type: 'input_tokens', value: Math.floor(limits.contextWindow * CLEAR_TOOL_USES_AT) },
                keep: { type: 'tool_uses', value: 5 },
                clear_at_least: { type: 'input_tokens', value: 10_000 },
              },
            ],
          },
          ...(settings.thinking === undefined ? {} : { thinking: settings.thinking }),
          ...(settings.effort === undefined ? {} : { output_config: { effort: settings.effort } }),
          thread: false,
        },
        maxTurns: settings.maxTurns,
        limits,
        retryForMs: settings.retryForMs,
        retryDelayMs: settings.retryDelayMs,
        signal: context.signal,
        onReply: (message, count) => {
          turns = count;
          countTurn(usage, message);
          const cost = settings.prices === undefined ? undefined : estimateCost(usage, settings.model, settings.prices);
          if (cost !== undefined) usage.estimatedCost = cost;
          context.reportUsage(usage);
          context.reportProgress({ turns, lastAction: describeTurn(message) });
          const said = textOf(message);
          if (said !== '') context.record({ kind: 'text', turn: turns, input: transcriptText(context.sandbox, said, 2_000) });
          // The budget reached by a turn that asks for more: no next turn. A final answer still counts as done.
          const { tokenBudget } = context;
          if (tokenBudget !== undefined && tokensOf(usage) >= tokenBudget && message.stop_reason === 'tool_use') {
            context.record({ kind: 'note', turn: turns, input: 'the agent reached its token budget: it stops here' });
            throw new BudgetExhausted(`the attempt reached its token budget: ${tokensOf(usage)} of ${tokenBudget}`);
          }
        },
        onNotice: (text) => {
          context.reportProgress({ turns, lastAction: text });
          context.record({ kind: 'note', turn: turns, input: text });
        },
      });
      const text = textOf(final);
      return {
        ...role.result(text === '' ? 'The agent finished without a summary.' : text),
        usage,
        ...(checks.size === 0 ? {} : { checks: [...checks.values()].slice(-50) }),
      };
    },
  };
}

/**
 * Whether a command checks the work: runs tests, a build, a type checker or a linter.
 * Commands that only read (`cat test.sh`, `grep test`) do not count.
 */
export function isCheck(command: string): boolean {
  const steps = command.split(/&&|\|\||;|\n/).map((step) => step.trim()).filter((step) => step !== '' && !/^cd\s/.test(step));
  return steps.some((step) => {
    const program = step.split(/\s+/)[0] ?? '';
    if (READERS.has(program)) return false;
    return CHECK_WORDS.test(step);
  });
}

/** Programs that read or move files: a command of theirs is no check, whatever its arguments say. */
const READERS = new Set(['cat', 'less', 'more', 'head', 'tail', 'ls', 'grep', 'rg', 'find', 'sed', 'awk', 'echo', 'printf', 'wc', 'git', 'diff', 'file', 'stat', 'which', 'mkdir', 'rm', 'cp', 'mv', 'touch']);
const CHECK_WORDS = /(^|[\s/._-])(test|tests|spec|check|lint|build|typecheck|tsc|eslint|pytest|jest|vitest|mocha|ctest|tox|rspec|phpunit|clippy|make|mvn|gradle)([\s/._:-]|$)/;

function systemPrompt(role: Role, spec: AgentSpawnPayload, sandbox: Sandbox, agentBranch: string): string {
  // No credential reaches the model, even one a local caller put in the URL.
  const repository = redactCredentials(spec.context.repository);
  const network = sandbox.isolation === 'process' ? '' : ' There is no network.';
  return [
    `You are a ${spec.agentType} agent of Mosaic Federation, working in a checkout of ${repository} at branch ${spec.context.branch}.`,
    `The repository is at ${sandbox.workdir}. Every bash command starts there in a fresh shell: use \`cd dir && ...\` within one command.${network}`,
    `It is a git repository with the branch's recent history, checked out on a branch of your own, ${agentBranch}.`,
    role.goal,
  ].join('\n');
}

function taskPrompt(spec: AgentSpawnPayload): string {
  const items = spec.context.workItems.length === 0 ? '' : `\n\nWork items:\n${spec.context.workItems.map((item) => `- ${item}`).join('\n')}`;
  return `Task ${spec.taskId}.${items}\n\n${spec.context.instructions || 'No further instructions.'}`;
}

function textOf(message: BetaMessage): string {
  return message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n').trim();
}

function countTurn(total: AgentUsage, message: BetaMessage): void {
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
  if (last.name === PLAN_TOOL) return 'proposed its plan';
  return `${String(input.command ?? 'edit')} ${String(input.path ?? '')}`.trim();
}

function firstLine(text: string): string {
  return clip(text.split('\n').find((line) => line.trim() !== '') ?? text, 500);
}


function artifact(name: string, content: string): AgentArtifact {
  return { name, mediaType: 'text/markdown', content };
}
