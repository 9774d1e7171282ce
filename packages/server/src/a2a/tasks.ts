// What an agent is as an A2A task, and what a message asks for (docs/protocol.md, "A2A").
// Pure mapping: no I/O.
import {
  AgentSpawnPayloadSchema,
  FederationError,
  type AgentSpawnPayload,
  type AgentState,
  type AgentStatus,
  type AgentStatusChangedPayload,
} from '@mosaic-fed/core';
import type { z } from 'zod';
import {
  AnswerDataSchema,
  TaskDataSchema,
  type AnswerData,
  type Artifact,
  type Message,
  type Part,
  type StreamResponse,
  type Task,
  type TaskState,
  type TaskStatus,
} from './wire.js';

/** PROTOCOL 5's agent states as A2A task states. */
export const TASK_STATE_OF: Record<AgentState, TaskState> = {
  spawning: 'TASK_STATE_SUBMITTED',
  running: 'TASK_STATE_WORKING',
  waiting: 'TASK_STATE_INPUT_REQUIRED',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  killed: 'TASK_STATE_CANCELED',
};

/** A2A task states as agent states, for `ListTasks`'s filter; those no agent is in have none. */
export const AGENT_STATE_OF: Partial<Record<TaskState, AgentState>> = Object.fromEntries(
  Object.entries(TASK_STATE_OF).map(([agent, task]) => [task, agent]),
) as Partial<Record<TaskState, AgentState>>;

/** An agent's message, about its task. */
function agentMessage(status: AgentStatus, parts: Part[]): Message {
  return { messageId: `${status.agentId}:${status.status}:${status.attempt}`, contextId: status.taskId, taskId: status.agentId, role: 'ROLE_AGENT', parts };
}

/** What the status says in words, where it says anything: the error, the pending approval, the last step. */
function statusMessage(status: AgentStatus): Message | undefined {
  if (status.pendingApproval !== undefined) {
    const { id, kind, summary, details } = status.pendingApproval;
    return agentMessage(status, [
      { text: summary },
      { data: { approvalId: id, kind, summary, ...(details === undefined ? {} : { details }) }, mediaType: 'application/json' },
    ]);
  }
  if (status.error !== null) return agentMessage(status, [{ text: status.error }]);
  if (status.status === 'running' && status.progress?.lastAction !== undefined) return agentMessage(status, [{ text: status.progress.lastAction }]);
  return undefined;
}

/** The time of the status: when it ended, started, or was spawned, whichever is latest. */
export function statusTimestamp(status: AgentStatus): string {
  return status.completedAt ?? status.startedAt ?? status.spawnedAt;
}

export function taskStatusOf(status: AgentStatus): TaskStatus {
  const message = statusMessage(status);
  return { state: TASK_STATE_OF[status.status], timestamp: statusTimestamp(status), ...(message === undefined ? {} : { message }) };
}

/**
 * A finished agent's work as artifacts: its summary, its patch (a unified diff), the files
 * it handed back, and its outcome and checks.
 */
export function artifactsOf(status: AgentStatus): Artifact[] {
  const result = status.result;
  if (result === null) return [];
  const artifacts: Artifact[] = [{ artifactId: 'summary', name: 'Summary', parts: [{ text: result.summary, mediaType: 'text/plain' }] }];
  if (result.patch !== undefined && result.patch.length > 0) {
    artifacts.push({ artifactId: 'patch', name: 'Patch', description: 'The changes as a unified diff (git apply)', parts: [{ text: result.patch, mediaType: 'text/x-diff', filename: 'changes.patch' }] });
  }
  for (const [index, file] of (result.artifacts ?? []).entries()) {
    artifacts.push({ artifactId: `file-${index + 1}`, name: file.name, parts: [{ text: file.content, mediaType: file.mediaType ?? 'text/plain', filename: file.name }] });
  }
  if (result.outcome !== undefined || result.checks !== undefined) {
    artifacts.push({
      artifactId: 'outcome',
      name: 'Outcome',
      parts: [{ data: { ...(result.outcome === undefined ? {} : { outcome: result.outcome }), ...(result.checks === undefined ? {} : { checks: result.checks }) }, mediaType: 'application/json' }],
    });
  }
  return artifacts;
}

/** Facts of the agent that A2A has no field for. */
function taskMetadata(status: AgentStatus, sequence: number | undefined): Record<string, unknown> {
  const usage = status.result?.usage ?? status.progress?.usage;
  return {
    agentType: status.agentType,
    attempt: status.attempt,
    ...(status.progress === null ? {} : { turns: status.progress.turns }),
    ...(usage === undefined ? {} : { usage }),
    ...(sequence === undefined ? {} : { sequence }),
  };
}

/** An agent as an A2A task: the agent's id is the task's, its `taskId` the context. */
export function taskOf(status: AgentStatus, options: { artifacts?: boolean | undefined; sequence?: number | undefined } = {}): Task {
  const artifacts = options.artifacts === false ? [] : artifactsOf(status);
  return {
    id: status.agentId,
    contextId: status.taskId,
    status: taskStatusOf(status),
    ...(artifacts.length === 0 ? {} : { artifacts }),
    metadata: taskMetadata(status, options.sequence),
  };
}

/**
 * A status change as stream events: a finished agent's artifacts first, then its status,
 * so that a client that stops at the final status has everything.
 */
export function streamEventsOf(event: AgentStatusChangedPayload): StreamResponse[] {
  const { sequence, ...status } = event;
  const artifacts = status.status === 'completed' ? artifactsOf(status) : [];
  return [
    ...artifacts.map((artifact) => ({ artifactUpdate: { taskId: status.agentId, contextId: status.taskId, artifact, lastChunk: true } })),
    { statusUpdate: { taskId: status.agentId, contextId: status.taskId, status: taskStatusOf(status), metadata: taskMetadata(status, sequence) } },
  ];
}

/** The data parts of a message that parse as `schema`; a data part that does not is refused. */
function dataParts<S extends z.ZodType>(message: Message, schema: S, what: string): z.output<S>[] {
  return message.parts.flatMap((part, index) => {
    if (part.data === undefined) return [];
    const parsed = schema.safeParse(part.data);
    if (!parsed.success) {
      throw new FederationError('VALIDATION_FAILED', `parts[${index}] is not ${what}`, {
        details: parsed.error.issues.map((issue) => ({ path: ['parts', index, 'data', ...issue.path].join('.'), message: issue.message })),
      });
    }
    return [parsed.data];
  });
}

/** The text of a message's text parts, a blank line between them. */
function textOf(message: Message): string {
  return message.parts.flatMap((part) => (part.text === undefined ? [] : [part.text])).join('\n\n');
}

/**
 * The spawn a message that starts a task asks for: one data part with the repository
 * and branch (and what else `agent.spawn` takes), text parts adding to the instructions;
 * the message's `contextId` is the spawn's `taskId`, or `contextId` when it has none.
 */
export function spawnOf(message: Message, contextId: string): AgentSpawnPayload {
  if (message.parts.some((part) => part.url !== undefined || part.raw !== undefined)) {
    throw new FederationError('VALIDATION_FAILED', 'this agent reads text and data parts only; give files as part of the repository');
  }
  const data = dataParts(message, TaskDataSchema, 'a task: { repository, branch, agentType?, workItems?, instructions?, options? }');
  const [task] = data;
  if (task === undefined || data.length > 1) {
    throw new FederationError('VALIDATION_FAILED', 'a message that starts a task has one data part with the repository and branch', {
      details: [{ path: 'parts', message: 'needs exactly one data part { "repository": ..., "branch": ... }' }],
    });
  }
  const instructions = [task.instructions ?? '', textOf(message)].filter((text) => text.length > 0).join('\n\n');
  const parsed = AgentSpawnPayloadSchema.safeParse({
    taskId: contextId,
    agentType: task.agentType,
    context: { repository: task.repository, branch: task.branch, workItems: task.workItems ?? [], instructions },
    ...(task.options === undefined ? {} : { options: task.options }),
  });
  if (!parsed.success) {
    throw new FederationError('VALIDATION_FAILED', 'the task is not one this instance can start', {
      details: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  return parsed.data;
}

/** The answer a message to a task in `input-required` gives: one data part with the decision; text adds to the note. */
export function answerOf(message: Message): AnswerData {
  const [answer, ...more] = dataParts(message, AnswerDataSchema, 'an answer: { decision: "approve" | "reject", note? }');
  if (answer === undefined || more.length > 0) {
    throw new FederationError('VALIDATION_FAILED', 'the task waits for an answer: one data part { "decision": "approve" | "reject", "note"?: ... }', {
      details: [{ path: 'parts', message: 'needs exactly one data part with the decision' }],
    });
  }
  const note = [answer.note ?? '', textOf(message)].filter((text) => text.length > 0).join('\n\n');
  return { ...answer, ...(note.length === 0 ? {} : { note: note.slice(0, 4_000) }) };
}
