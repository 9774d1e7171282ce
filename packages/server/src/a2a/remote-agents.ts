// A2A agents elsewhere, used as peers are (docs/protocol.md, "A2A"): an admin adds one by
// its card's URL; a spawn on it is a SendMessage (its `messageId` the spawn request's jti,
// so a resend starts nothing twice on an agent that keeps A2A's idempotency), and the task
// it starts is an agent here like any sent one: its status is polled (one replica at a
// time) and applied as numbered events, so pages, lists and event streams show it; a kill
// is CancelTask, an answer to an approval a message to the task.
import {
  canonicalJson,
  FederationError,
  isTerminalState,
  PendingApprovalSchema,
  type A2AAgent,
  type AddA2AAgentDto,
  type AgentResult,
  type AgentRespondResponse,
  type AgentSpawnResponse,
  type AgentState,
  type AgentStatus,
  type ApprovalAnswer,
  type AuditActor,
  type PendingApproval,
} from '@mosaic-fed/core';
import { z } from 'zod';
import { deriveAgentId } from '../agents/hosted.js';
import { BackgroundLoop } from '../lib/background.js';
import { openText, sealText } from '../lib/sealed-key.js';
import { describeError, type Logger } from '../logger.js';
import { OutboundRefusal, type OutboundPolicy } from '../outbound/policy.js';
import type { EventBus } from '../replicas/event-bus.js';
import type { Leases } from '../replicas/leases.js';
import type { A2AAgentRecord, A2ATaskRecord, FederationStores, SpawnRequestRecord } from '../stores/types.js';
import { A2ARemoteClient, AgentCardSchema, chooseInterface } from './remote-client.js';
import type { Part, Task, TaskState } from './wire.js';

/** What the sealed token of an A2A agent is, bound into its key. */
const TOKEN_SECRET = 'mosaic-fed a2a agent token v1';
/** The lease of polling A2A tasks: one replica at a time. */
const POLL_LEASE = 'a2a-poll';
/** How many tasks one pass polls. */
const TASKS_PER_PASS = 100;

/** A2A task states as agent states. */
const STATE_OF: Record<TaskState, AgentState> = {
  TASK_STATE_SUBMITTED: 'spawning',
  TASK_STATE_WORKING: 'running',
  TASK_STATE_INPUT_REQUIRED: 'waiting',
  TASK_STATE_AUTH_REQUIRED: 'waiting',
  TASK_STATE_COMPLETED: 'completed',
  TASK_STATE_FAILED: 'failed',
  TASK_STATE_REJECTED: 'failed',
  TASK_STATE_CANCELED: 'killed',
};

export interface A2ARemoteAgentsOptions {
  stores: FederationStores;
  events: EventBus;
  /** The outbound client, and the policy it enforces (checked again when an agent is added). */
  fetch: typeof fetch;
  policy: OutboundPolicy;
  /** Seals the tokens sent to A2A agents at rest. */
  secret: string;
  leases: Leases;
  holder: string;
  now: () => Date;
  generateId: () => string;
  logger: Logger;
  /** Time between polls of the tasks that have not ended, in milliseconds. Default 2,000. */
  pollIntervalMs?: number | undefined;
  /** Told when a task's status turns terminal here. */
  onTerminal?: ((agentId: string) => void) | undefined;
}

function view(record: A2AAgentRecord): A2AAgent {
  const { sealedToken, ...rest } = record;
  return { ...rest, sendsToken: sealedToken !== null };
}

const textOf = (parts: readonly Part[] | undefined) =>
  (parts ?? []).flatMap((part) => (part.text === undefined || part.mediaType === 'text/x-diff' ? [] : [part.text])).join('\n\n');

/** A completed task's work as a result: its summary (or its texts), and a patch where a part is a diff. */
function resultOf(task: Task): AgentResult {
  const artifacts = task.artifacts ?? [];
  const summary = textOf(artifacts.find((artifact) => artifact.artifactId === 'summary')?.parts) || artifacts.map((artifact) => textOf(artifact.parts)).filter((text) => text !== '').join('\n\n') || textOf(task.status.message?.parts);
  const patch = artifacts
    .flatMap((artifact) => artifact.parts)
    .find((part) => part.text !== undefined && (part.mediaType === 'text/x-diff' || /\.(patch|diff)$/.test(part.filename ?? '')))?.text;
  return { summary: summary === '' ? 'The A2A agent completed its task and said nothing of it.' : summary, ...(patch === undefined ? {} : { patch }) };
}

/** The approval a Mosaic Federation instance's A2A binding puts in a waiting task's status message. */
const ApprovalDataSchema = z.object({ approvalId: PendingApprovalSchema.shape.id, kind: PendingApprovalSchema.shape.kind, summary: PendingApprovalSchema.shape.summary, details: z.json().optional() });

/** What a task in input-required asks: the approval our A2A binding sends, or the words of any other agent's question. */
function pendingOf(task: Task): PendingApproval {
  for (const part of task.status.message?.parts ?? []) {
    const approval = ApprovalDataSchema.safeParse(part.data);
    if (approval.success) {
      const { approvalId, details, ...rest } = approval.data;
      return { id: approvalId, ...rest, ...(details === undefined ? {} : { details }) };
    }
  }
  return { id: `input:${task.status.timestamp ?? task.id}`.slice(0, 128), kind: 'input', summary: textOf(task.status.message?.parts).slice(0, 4_000) || 'The A2A agent waits for input.' };
}

/** The task as an agent status, from what this instance knew of the agent before. */
export function statusOfTask(task: Task, known: AgentStatus, now: Date): AgentStatus {
  const state = STATE_OF[task.status.state];
  const at = task.status.timestamp !== undefined && !Number.isNaN(Date.parse(task.status.timestamp)) ? new Date(task.status.timestamp).toISOString() : now.toISOString();
  const said = textOf(task.status.message?.parts);
  const { pendingApproval: _previous, ...base } = known;
  return {
    ...base,
    status: state,
    startedAt: known.startedAt ?? (state === 'spawning' ? null : at),
    completedAt: isTerminalState(state) ? (known.completedAt ?? at) : null,
    progress: state === 'running' && said !== '' ? { turns: known.progress?.turns ?? 0, lastAction: said.slice(0, 1_000) } : known.progress,
    result: state === 'completed' ? resultOf(task) : null,
    error: state === 'failed' ? said || 'the A2A agent gave no reason' : state === 'killed' ? null : known.error,
    ...(state === 'waiting' ? { pendingApproval: pendingOf(task) } : {}),
  };
}

export class A2ARemoteAgents {
  readonly #o: A2ARemoteAgentsOptions;
  readonly #poller: BackgroundLoop<number>;
  /** The clients of the A2A agents, by id. */
  readonly #clients = new Map<string, Promise<A2ARemoteClient>>();

  constructor(options: A2ARemoteAgentsOptions) {
    this.#o = options;
    this.#poller = new BackgroundLoop(() => this.#pollPass(), {
      intervalMs: options.pollIntervalMs ?? 2_000,
      onError: (error) => options.logger.warn('could not poll the tasks of A2A agents; will try again', describeError(error)),
    });
  }

  async list(): Promise<A2AAgent[]> {
    return (await this.#o.stores.a2aAgents.list()).map(view);
  }

  /** The A2A agent with this id, if this instance has one: a spawn target beside the connections. */
  agent(id: string): Promise<A2AAgentRecord | undefined> {
    return this.#o.stores.a2aAgents.get(id);
  }

  /**
   * Adds an A2A agent: reads its card (through the outbound policy), picks the first
   * interface this instance speaks, and keeps the token sent to it sealed.
   */
  async add(dto: AddA2AAgentDto, actor: AuditActor): Promise<A2AAgent> {
    const cardUrl = /\.json$/i.test(new URL(dto.url).pathname) ? dto.url : `${dto.url.replace(/\/+$/, '')}/.well-known/agent-card.json`;
    const response = await this.#o.fetch(cardUrl, { headers: { Accept: 'application/json' } });
    const card = AgentCardSchema.safeParse(response.ok ? await response.json().catch(() => undefined) : undefined);
    if (!card.success) {
      throw new FederationError('VALIDATION_FAILED', `no A2A agent card answered at ${cardUrl}`, { details: [{ path: 'url', message: `HTTP ${response.status}, or not an agent card` }] });
    }
    const chosen = chooseInterface(card.data);
    if (chosen === undefined) {
      throw new FederationError('VALIDATION_FAILED', 'the agent offers no interface this instance speaks (A2A 1.x over JSON-RPC or HTTP+JSON)');
    }
    try {
      this.#o.policy.checkUrl(chosen.endpoint);
    } catch (error) {
      if (!(error instanceof OutboundRefusal)) throw error;
      throw new FederationError('VALIDATION_FAILED', "this instance may not call the agent's interface", { details: [{ path: 'url', message: error.message }] });
    }
    const id = this.#o.generateId();
    const at = this.#o.now().toISOString();
    const record: A2AAgentRecord = {
      id,
      name: card.data.name,
      cardUrl,
      ...chosen,
      sealedToken: dto.token === undefined ? null : await sealText(dto.token, this.#o.secret, id, TOKEN_SECRET),
      createdAt: at,
    };
    await this.#o.stores.a2aAgents.add(record, {
      id: this.#o.generateId(),
      at,
      actor,
      action: 'a2a-agent.add',
      target: `a2a-agent:${id}`,
      before: null,
      after: { name: record.name, cardUrl, endpoint: record.endpoint, binding: record.binding, sendsToken: record.sealedToken !== null },
    });
    return view(record);
  }

  /** Forgets an A2A agent; the agents started on it stay, ended as they are, and are no longer polled. */
  async remove(id: string, actor: AuditActor): Promise<void> {
    const record = await this.#o.stores.a2aAgents.get(id);
    if (record === undefined) throw new FederationError('NOT_FOUND', 'there is no such A2A agent');
    this.#clients.delete(id);
    await this.#o.stores.a2aAgents.remove(id, {
      id: this.#o.generateId(),
      at: this.#o.now().toISOString(),
      actor,
      action: 'a2a-agent.remove',
      target: `a2a-agent:${id}`,
      before: { name: record.name, cardUrl: record.cardUrl },
      after: null,
    });
  }

  /**
   * Sends a recorded spawn as a message that starts a task: its data part has the
   * repository, branch, agent type and work items, its text the instructions.
   */
  async spawn(agent: A2AAgentRecord, request: SpawnRequestRecord): Promise<AgentSpawnResponse> {
    const { payload } = request;
    const { instructions, ...context } = payload.context;
    const task = await (await this.#client(agent)).sendMessage({
      message: {
        messageId: request.jti,
        contextId: payload.taskId,
        role: 'ROLE_USER',
        parts: [
          { data: { ...context, agentType: payload.agentType, options: payload.options }, mediaType: 'application/json' },
          ...(instructions === '' ? [] : [{ text: instructions }]),
        ],
      },
      configuration: { returnImmediately: true },
    });
    const agentId = deriveAgentId(agent.id, request.jti);
    await this.#o.stores.a2aAgents.addTask({ agentId, a2aAgentId: agent.id, remoteTaskId: task.id, done: false, createdAt: this.#o.now().toISOString() });
    this.#poller.wake();
    return { agentId, state: 'spawning', spawnedAt: this.#o.now().toISOString() };
  }

  /** Whether an agent sent from here runs on an A2A agent. */
  async runs(agentId: string): Promise<boolean> {
    return (await this.#o.stores.a2aAgents.task(agentId)) !== undefined;
  }

  /** Asks the A2A agent for the task now, and applies what changed; answers the agent's status here. */
  async refresh(agentId: string): Promise<AgentStatus> {
    const { task, agent } = await this.#taskOf(agentId);
    await this.#apply(task, await (await this.#client(agent)).getTask(task.remoteTaskId));
    return this.#known(agentId);
  }

  /** CancelTask, and its outcome applied. A task that ended already is `AGENT_ALREADY_TERMINAL`. */
  async cancel(agentId: string): Promise<void> {
    const { task, agent } = await this.#taskOf(agentId);
    await this.#apply(task, await (await this.#client(agent)).cancelTask(task.remoteTaskId));
  }

  /** Answers what the task waits for: a message to the task with the decision as data. */
  async respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse> {
    const { task, agent } = await this.#taskOf(agentId);
    const client = await this.#client(agent);
    const changed = await client.sendMessage({
      message: {
        messageId: this.#o.generateId(),
        taskId: task.remoteTaskId,
        role: 'ROLE_USER',
        parts: [{ data: { approvalId: answer.approvalId, decision: answer.decision, ...(answer.note === undefined ? {} : { note: answer.note }) }, mediaType: 'application/json' }],
      },
      configuration: { returnImmediately: true },
    });
    await this.#apply(task, changed);
    return { agentId, approvalId: answer.approvalId, decision: answer.decision, answeredAt: this.#o.now().toISOString() };
  }

  /** Polls the tasks that have not ended, in the background. */
  start(): void {
    this.#poller.start();
  }

  stop(): Promise<void> {
    return this.#poller.stop();
  }

  /** One pass now (tests, and after a spawn). */
  pollNow(): Promise<number> {
    return this.#poller.runNow();
  }

  async #pollPass(): Promise<number> {
    const intervalMs = this.#o.pollIntervalMs ?? 2_000;
    if (!(await this.#o.leases.hold(POLL_LEASE, this.#o.holder, Math.max(10_000, intervalMs * 5)))) return 0;
    let applied = 0;
    for (const task of await this.#o.stores.a2aAgents.activeTasks(TASKS_PER_PASS)) {
      if (this.#poller.stopping) break;
      try {
        const agent = await this.#o.stores.a2aAgents.get(task.a2aAgentId);
        if (agent === undefined) {
          await this.#end(task, 'failed', 'the A2A agent it runs on was removed from this instance');
          continue;
        }
        if (await this.#apply(task, await (await this.#client(agent)).getTask(task.remoteTaskId))) applied++;
      } catch (error) {
        if (error instanceof FederationError && error.code === 'NOT_FOUND') {
          await this.#end(task, 'failed', 'the A2A agent no longer knows the task');
          continue;
        }
        this.#o.logger.warn('could not poll a task of an A2A agent; will try again', { agentId: task.agentId, ...describeError(error) });
      }
    }
    return applied;
  }

  /** Applies the task's state as the agent's next event, if it changed anything; true when it did. */
  async #apply(task: A2ATaskRecord, remote: Task): Promise<boolean> {
    const record = await this.#o.stores.remoteAgents.get(task.agentId);
    if (record === undefined) return false;
    const status = statusOfTask(remote, record.status, this.#o.now());
    return this.#publish(task, record.sequence, record.status, status);
  }

  /** Ends a task here that can no longer be asked about. */
  async #end(task: A2ATaskRecord, state: 'failed', error: string): Promise<void> {
    const record = await this.#o.stores.remoteAgents.get(task.agentId);
    if (record === undefined || isTerminalState(record.status.status)) {
      await this.#o.stores.a2aAgents.finishTask(task.agentId);
      return;
    }
    const { pendingApproval: _pending, ...base } = record.status;
    await this.#publish(task, record.sequence, record.status, { ...base, status: state, error, completedAt: this.#o.now().toISOString(), result: null });
  }

  async #publish(task: A2ATaskRecord, sequence: number, before: AgentStatus, status: AgentStatus): Promise<boolean> {
    if (canonicalJson(status) === canonicalJson(before)) return false;
    const event = { ...status, sequence: sequence + 1 };
    const outcome = await this.#o.stores.remoteAgents.applyEvent(task.agentId, event);
    if (outcome === 'applied') await this.#o.events.publish(task.agentId, event);
    if (isTerminalState(status.status) || outcome === 'terminal') {
      await this.#o.stores.a2aAgents.finishTask(task.agentId);
      if (outcome === 'applied') this.#o.onTerminal?.(task.agentId);
    }
    return outcome === 'applied';
  }

  async #known(agentId: string): Promise<AgentStatus> {
    const record = await this.#o.stores.remoteAgents.get(agentId);
    if (record === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return record.status;
  }

  async #taskOf(agentId: string): Promise<{ task: A2ATaskRecord; agent: A2AAgentRecord }> {
    const task = await this.#o.stores.a2aAgents.task(agentId);
    if (task === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    const agent = await this.#o.stores.a2aAgents.get(task.a2aAgentId);
    if (agent === undefined) throw new FederationError('NOT_FOUND', 'the A2A agent it runs on was removed from this instance');
    return { task, agent };
  }

  /**
   * The client of an A2A agent, its token opened once per agent and process rather than at
   * every poll (an agent's record never changes; a removed one is forgotten here, and is
   * found removed by the store read before any call on another replica).
   */
  #client(agent: A2AAgentRecord): Promise<A2ARemoteClient> {
    let client = this.#clients.get(agent.id);
    if (client === undefined) {
      client = (async () => {
        const token = agent.sealedToken === null ? undefined : await openText(agent.sealedToken, this.#o.secret, agent.id, TOKEN_SECRET);
        return new A2ARemoteClient({ endpoint: agent.endpoint, binding: agent.binding, token, fetch: this.#o.fetch });
      })();
      // A token that would not open is tried again next time, not remembered.
      client.catch(() => this.#clients.delete(agent.id));
      this.#clients.set(agent.id, client);
    }
    return client;
  }
}
