// A2A's operations over this instance's hosted agents (docs/protocol.md, "A2A"): an A2A
// client is a principal like a peer, with the same grants, limits, budgets, audit and
// ownership rule; a task is an agent. SendMessage's `messageId` is claimed in the message
// log as a peer's `jti` is, so a retried send starts nothing twice.
import {
  isTerminalState,
  FederationError,
  LIMITS,
  type A2AClient,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type Capabilities,
  type GrantableType,
} from '@mosaic-fed/core';
import { canonicalJson } from '@mosaic-fed/core/util';
import { deriveAgentId, type AgentOwnerRef, type HostedAgents } from '../agents/hosted.js';
import type { InstanceService } from '../instance/service.js';
import { sha256HexOfText } from '../lib/encoding.js';
import type { RateLimiter } from '../replicas/rate-limiter.js';
import type { FederationStores } from '../stores/types.js';
import { a2aActor } from './clients.js';
import { A2AError } from './errors.js';
import { AGENT_STATE_OF, answerOf, spawnOf, statusTimestamp, streamEventsOf, taskOf, TASK_STATE_OF } from './tasks.js';
import type { A2APush, PushConfigView } from './push.js';
import type { ListTasksRequest, Message, PushConfigInput, SendMessageRequest, StreamResponse, Task } from './wire.js';

export interface A2AServiceOptions {
  stores: FederationStores;
  hosted: HostedAgents;
  push: A2APush;
  instance: InstanceService;
  rateLimiter: RateLimiter;
  now: () => Date;
  generateId: () => string;
}

/** One event of a task's stream; `id` (the agent's event sequence) where a stream may resume after it. */
export interface TaskStreamEvent {
  id?: string | undefined;
  event: StreamResponse;
}

/** An agent state a blocking `SendMessage` returns at: terminal, or waiting for an answer other than `answered`. */
function settled(status: AgentStatus, answered: string | undefined): boolean {
  return isTerminalState(status.status) || (status.status === 'waiting' && status.pendingApproval?.id !== answered);
}

export class A2AService {
  readonly #o: A2AServiceOptions;

  constructor(options: A2AServiceOptions) {
    this.#o = options;
  }

  /**
   * Counts the request against the client's message allowance, and checks that its grants
   * and the instance's switches allow what it asks for (deny by default).
   */
  async admit(client: A2AClient, grant: GrantableType, switches: readonly (keyof Capabilities)[]): Promise<void> {
    const rate = await this.#o.rateLimiter.hit(`messages:${client.id}`, client.grants.messagesPerMinute, this.#o.now());
    if (!rate.allowed) {
      throw new FederationError('RATE_LIMITED', 'the A2A client sent its allowance of requests for this minute', { retryAfter: rate.retryAfter });
    }
    const { capabilities } = await this.#o.instance.load();
    const off = switches.find((name) => !capabilities[name]);
    if (off !== undefined) throw new FederationError('CAPABILITY_DISABLED', `this instance has ${off} switched off`);
    if (!(client.grants.allowedCommands as readonly string[]).includes(grant)) {
      throw new FederationError('FORBIDDEN', `the A2A client's grants do not allow ${grant}`);
    }
  }

  /**
   * `SendMessage` and the start of `SendStreamingMessage`: a message without `taskId`
   * starts an agent; one with the `taskId` of a task in `input-required` answers it. Answers
   * the task's id; a message sent again (same `messageId`, same content) answers the same.
   */
  async send(client: A2AClient, request: SendMessageRequest): Promise<{ agentId: string; answered?: string | undefined }> {
    const { message } = request;
    const pushConfig = request.configuration?.taskPushNotificationConfig;
    if (message.role !== 'ROLE_USER') throw new A2AError('INVALID_PARAMS', "a client's message has role ROLE_USER");
    if (message.taskId !== undefined && message.taskId !== '') {
      await this.admit(client, 'agent.spawn', ['supportsCommand']);
      const taskId = message.taskId;
      let answered: string | undefined;
      await this.#once(client, message, async () => {
        answered = await this.#answer(client, taskId, message);
        if (pushConfig !== undefined) await this.#o.push.create(client, taskId, pushConfig);
        return taskId;
      });
      return { agentId: taskId, answered };
    }
    await this.admit(client, 'agent.spawn', ['supportsCommand', 'supportsAgentSpawn']);
    // Checked before the claim: a message that could never start anything claims nothing.
    const spec = spawnOf(message, message.contextId === undefined || message.contextId === '' ? this.#o.generateId() : message.contextId);
    const agentId = await this.#once(client, message, async () => {
      const id = deriveAgentId(client.id, message.messageId);
      // Stored before the agent starts, so that no change of it goes untold.
      const push = pushConfig === undefined ? undefined : await this.#o.push.create(client, id, pushConfig);
      try {
        await this.#o.hosted.spawn({ id: client.id, ownerId: client.id, grants: client.grants, auditActor: a2aActor(client), via: 'a2a' }, spec, id);
      } catch (error) {
        if (push !== undefined) await this.#o.push.delete(id, push.id).catch(() => undefined);
        throw error;
      }
      return id;
    });
    return { agentId };
  }

  /**
   * The task once it is worth answering a blocking `SendMessage` with: terminal, or waiting
   * for a (new) answer; sooner if the client goes away (`signal`).
   */
  async settle(client: A2AClient, agentId: string, answered: string | undefined, signal: AbortSignal): Promise<Task> {
    const owner = ownerOf(client);
    let status = await this.#o.hosted.status(agentId, owner);
    if (!settled(status, answered)) {
      for await (const event of await this.#o.hosted.follow(agentId, owner, 0, signal)) {
        const { sequence: _sequence, ...current } = event;
        status = current;
        if (settled(status, answered)) break;
      }
    }
    return taskOf(status);
  }

  /** `GetTask`: the client's own task, `TASK_NOT_FOUND` for any other. */
  async get(client: A2AClient, agentId: string): Promise<Task> {
    await this.admit(client, 'agent.status', ['supportsCommand']);
    return taskOf(await this.#o.hosted.status(agentId, ownerOf(client)));
  }

  /** `CancelTask`: stops the agent for real (PROTOCOL 5's kill); a finished task is `TASK_NOT_CANCELABLE`. */
  async cancel(client: A2AClient, agentId: string): Promise<Task> {
    await this.admit(client, 'agent.kill', ['supportsCommand']);
    const owner = ownerOf(client);
    await this.#o.hosted.kill(agentId, owner, a2aActor(client));
    return taskOf(await this.#o.hosted.status(agentId, owner));
  }

  /**
   * `ListTasks`: the client's tasks, newest first, `pageSize` (default 50) at a time.
   * `statusTimestampAfter` keeps those whose status is at least that recent, so a page may
   * hold fewer; `nextPageToken` goes on where the page stopped.
   */
  async list(client: A2AClient, request: ListTasksRequest): Promise<{ tasks: Task[]; nextPageToken: string; pageSize: number; totalSize: number }> {
    await this.admit(client, 'agent.status', ['supportsQuery']);
    const pageSize = request.pageSize ?? 50;
    const state = request.status === undefined ? undefined : AGENT_STATE_OF[request.status];
    // A state no agent is ever in (rejected, auth-required) lists nothing.
    if (request.status !== undefined && state === undefined) return { tasks: [], nextPageToken: '', pageSize, totalSize: 0 };
    const query = {
      ownerInstanceId: client.id,
      taskId: request.contextId === '' ? undefined : request.contextId,
      status: state,
    };
    const [page, totalSize] = await Promise.all([
      this.#o.stores.hostedAgents.list({ ...query, limit: pageSize, cursor: request.pageToken === '' ? undefined : request.pageToken, newestFirst: true }),
      this.#o.stores.hostedAgents.count(query),
    ]);
    const after = request.statusTimestampAfter === undefined ? undefined : Date.parse(request.statusTimestampAfter);
    const tasks = page.agents
      .filter((agent) => after === undefined || Date.parse(statusTimestamp(agent.status)) >= after)
      .map((agent) => taskOf(agent.status, { artifacts: request.includeArtifacts === true, sequence: agent.sequence }));
    return { tasks, nextPageToken: page.nextCursor ?? '', pageSize, totalSize };
  }

  /** `CreateTaskPushNotificationConfig`, for one of the client's tasks. */
  async createPushConfig(client: A2AClient, taskId: string, input: PushConfigInput): Promise<PushConfigView> {
    await this.#ownTask(client, taskId);
    return this.#o.push.create(client, taskId, input);
  }

  /** `GetTaskPushNotificationConfig`. */
  async pushConfig(client: A2AClient, taskId: string, id: string): Promise<PushConfigView> {
    await this.#ownTask(client, taskId);
    return this.#o.push.get(taskId, id);
  }

  /** `ListTaskPushNotificationConfigs`: all of the task's (at most ten), on one page. */
  async pushConfigs(client: A2AClient, taskId: string): Promise<{ configs: PushConfigView[]; nextPageToken: string }> {
    await this.#ownTask(client, taskId);
    return { configs: await this.#o.push.list(taskId), nextPageToken: '' };
  }

  /** `DeleteTaskPushNotificationConfig`: what was queued for it is dropped, not sent. */
  async deletePushConfig(client: A2AClient, taskId: string, id: string): Promise<void> {
    await this.#ownTask(client, taskId);
    await this.#o.push.delete(taskId, id);
  }

  /** Push configs are the task's: `TASK_NOT_FOUND` for another client's, as for a missing one. */
  async #ownTask(client: A2AClient, taskId: string): Promise<void> {
    await this.admit(client, 'agent.status', ['supportsCommand']);
    await this.#o.hosted.status(taskId, ownerOf(client));
  }

  /**
   * `SubscribeToTask`: `TASK_NOT_FOUND` for another's task, and, unless it resumes a stream
   * (`afterSequence`, from `Last-Event-ID`), `UNSUPPORTED_OPERATION` for a finished one.
   * Checked before the stream opens, so the refusal is an ordinary error answer.
   */
  async subscribable(client: A2AClient, agentId: string, afterSequence: number | undefined): Promise<void> {
    await this.admit(client, 'agent.status', ['supportsCommand']);
    const status = await this.#o.hosted.status(agentId, ownerOf(client));
    if (afterSequence === undefined && isTerminalState(status.status)) {
      throw new A2AError('UNSUPPORTED_OPERATION', `the task is ${TASK_STATE_OF[status.status]}: there is nothing to subscribe to`);
    }
  }

  /**
   * The task's stream: the task as it is now (each event's `id` is its sequence), then
   * each change, a finished agent's artifacts before its final status, until it ends.
   * From `afterSequence` on, the changes after that one alone: a stream resumed.
   */
  async *stream(client: A2AClient, agentId: string, afterSequence: number | undefined, signal: AbortSignal): AsyncGenerator<TaskStreamEvent> {
    let first = afterSequence === undefined;
    for await (const event of await this.#o.hosted.follow(agentId, ownerOf(client), afterSequence ?? 0, signal)) {
      yield* first ? [{ id: String(event.sequence), event: { task: taskOf(event, { sequence: event.sequence }) } }] : eventsWithIds(event);
      first = false;
      if (isTerminalState(event.status)) return;
    }
  }

  /**
   * Runs `start` once per `(client, messageId)` (PROTOCOL 2's message log, as for a peer's
   * `jti`): the same message again answers the task it named; other content under the
   * same id is `MESSAGE_ID_CONFLICT`.
   */
  async #once(client: A2AClient, message: Message, start: () => Promise<string>): Promise<string> {
    const now = this.#o.now();
    const claimed = await this.#o.stores.messageLog.claim({
      issuer: client.id,
      jti: message.messageId,
      hash: await sha256HexOfText(canonicalJson(message)),
      now,
      expiresAt: new Date(now.getTime() + LIMITS.messageLogRetentionSeconds * 1000),
    });
    if (claimed.outcome === 'conflict') throw new FederationError('MESSAGE_ID_CONFLICT', 'this messageId was sent before with other content');
    if (claimed.outcome === 'in-progress') throw new FederationError('MESSAGE_IN_PROGRESS', 'this message is being handled; ask again in a moment', { retryAfter: 1 });
    if (claimed.outcome === 'completed') {
      const data = claimed.reply.success ? claimed.reply.data : undefined;
      if (typeof data === 'object' && data !== null && 'agentId' in data && typeof data.agentId === 'string') return data.agentId;
      throw new FederationError('MESSAGE_ID_CONFLICT', 'this messageId was used before');
    }
    try {
      const agentId = await start();
      await this.#o.stores.messageLog.complete(client.id, message.messageId, { success: true, data: { agentId } });
      return agentId;
    } catch (error) {
      // Nothing started: a retry (after a grant changes, a place frees up) runs afresh.
      await this.#o.stores.messageLog.release(client.id, message.messageId);
      throw error;
    }
  }

  /** Answers what the client's agent waits for; the approval's id. */
  async #answer(client: A2AClient, agentId: string, message: Message): Promise<string> {
    const owner = ownerOf(client);
    const status = await this.#o.hosted.status(agentId, owner);
    if (message.contextId !== undefined && message.contextId !== '' && message.contextId !== status.taskId) {
      throw new A2AError('INVALID_PARAMS', "the message's contextId is not its task's");
    }
    const pending = status.pendingApproval;
    if (status.status !== 'waiting' || pending === undefined) {
      throw new A2AError('UNSUPPORTED_OPERATION', `the task is ${TASK_STATE_OF[status.status]}; it takes a message only while it is TASK_STATE_INPUT_REQUIRED`);
    }
    const answer = answerOf(message);
    if (answer.approvalId !== undefined && answer.approvalId !== pending.id) {
      throw new A2AError('INVALID_PARAMS', `the task waits for approval ${pending.id}, not ${answer.approvalId}`);
    }
    await this.#o.hosted.respond(
      agentId,
      { approvalId: pending.id, decision: answer.decision, ...(answer.note === undefined ? {} : { note: answer.note }) },
      owner,
      a2aActor(client),
    );
    return pending.id;
  }
}

/** An A2A client as the owner of its agents. */
function ownerOf(client: A2AClient): AgentOwnerRef {
  return { iss: client.id };
}

/** A change's events, the last (its status) carrying the sequence to resume after. */
function eventsWithIds(event: AgentStatusChangedPayload): TaskStreamEvent[] {
  const events = streamEventsOf(event);
  return events.map((e, index) => ({ ...(index === events.length - 1 ? { id: String(event.sequence) } : {}), event: e }));
}
