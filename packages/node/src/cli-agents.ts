// `mosaic-fed agents`: the agents an instance sent to peers and runs for them, newest
// first, filtered and paged, as the web UI's agents view shows them.
import { AGENT_STATES, AGENT_TYPES, AgentFilterSchema, LIMITS, tokensOf, usageOf, type AgentFilter, type AgentUsage } from '@mosaic-fed/core';
import { agentRows, LIST_END, type AgentListCursors, type AgentRowsShown, type Federation } from '@mosaic-fed/server';
import { formatTable, UsageError } from './cli-support.js';

/** The command's flags, as typed. */
export interface AgentsCommandFlags {
  peer?: string | undefined;
  status?: string | undefined;
  type?: string | undefined;
  task?: string | undefined;
  show?: string | undefined;
  limit?: string | undefined;
  page?: string | undefined;
  json?: boolean | undefined;
}

/** What the command prints: the list on stdout, and on stderr how to see the next page. */
export interface AgentsCommandOutput {
  stdout: string;
  stderr: string;
}

const DEFAULT_LIMIT = 20;

/** Lists the agents of an open federation as the flags ask. */
export async function agentsCommand(federation: Pick<Federation, 'agents' | 'hosted' | 'stores'>, flags: AgentsCommandFlags): Promise<AgentsCommandOutput> {
  const connections = await federation.stores.connections.list();
  const show = showOf(flags.show);
  const limit = limitOf(flags.limit);
  const filter = filterOf(flags, connections);
  const { rows, next } = await agentRows(federation, { filter, show, limit, cursors: cursorsOf(flags.page) });
  const peers = new Map(connections.map((connection) => [connection.id, connection.peerName]));
  const stderr = next === null ? '' : `older agents follow: add --page ${pageOf(next)}\n`;
  if (flags.json === true) {
    const lines = rows.map((row) => JSON.stringify({ ...row, peerName: peers.get(row.connectionId) ?? null }));
    return { stdout: lines.map((line) => `${line}\n`).join(''), stderr };
  }
  const table = rows.map(({ agentId, direction, connectionId, status }) => [
    agentId,
    direction,
    peers.get(connectionId) ?? connectionId,
    status.agentType,
    status.taskId,
    status.status,
    status.spawnedAt,
    status.completedAt === null ? '-' : `${Math.round((Date.parse(status.completedAt) - Date.parse(status.spawnedAt)) / 1000)}s`,
    tokensCell(usageOf(status)),
  ]);
  return { stdout: formatTable(['agent', 'sent/hosted', 'peer', 'type', 'task', 'status', 'spawned', 'took', 'tokens'], table), stderr };
}

/** An agent's tokens so far (its attempts together), or `-` before its first model turn. */
function tokensCell(usage: AgentUsage | undefined): string {
  return usage === undefined ? '-' : String(tokensOf(usage));
}

function showOf(value: string | undefined): AgentRowsShown {
  if (value === undefined || value === 'all' || value === 'sent' || value === 'hosted') return value ?? 'all';
  throw new UsageError(`--show must be all, sent or hosted, not "${value}"`);
}

function limitOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > LIMITS.listLimitMax) {
    throw new UsageError(`--limit must be a whole number from 1 to ${LIMITS.listLimitMax}, not "${value}"`);
  }
  return limit;
}

/** `--peer` names a connection by its id, its peer's instance id or its peer's name (in any case). */
function filterOf(flags: AgentsCommandFlags, connections: { id: string; peerInstanceId: string; peerName: string }[]): AgentFilter {
  let connectionId: string | undefined;
  if (flags.peer !== undefined) {
    const wanted = flags.peer.trim().toLowerCase();
    const matching = connections.filter((c) => c.id === wanted || c.peerInstanceId === wanted || c.peerName.toLowerCase() === wanted);
    if (matching.length === 0) throw new UsageError(`--peer: no connection has the id or peer "${flags.peer}"`);
    if (matching.length > 1) throw new UsageError(`--peer: ${matching.length} peers are named "${flags.peer}"; give the connection's id`);
    connectionId = matching[0]?.id;
  }
  const parsed = AgentFilterSchema.safeParse({ connectionId, status: flags.status, agentType: flags.type, taskId: flags.task });
  if (parsed.success) return parsed.data;
  const field = parsed.error.issues[0]?.path[0];
  throw new UsageError(
    field === 'status'
      ? `--status must be one of ${AGENT_STATES.join(', ')}, not "${flags.status ?? ''}"`
      : field === 'agentType'
        ? `--type must be one of ${AGENT_TYPES.join(', ')}, not "${flags.type ?? ''}"`
        : `--task must be a task id as the agent was started with (letters, digits and . _ : -), not "${flags.task ?? ''}"`,
  );
}

/** `--page`: where each list goes on from, as the previous page printed it. */
function cursorsOf(page: string | undefined): AgentListCursors {
  if (page === undefined) return {};
  const [sent, hosted, ...rest] = page.split(',');
  const fits = (cursor: string | undefined) => cursor !== undefined && cursor.length <= 512;
  if (rest.length > 0 || !fits(sent) || !fits(hosted)) throw new UsageError('--page takes what the previous page printed after --page');
  return { sent: sent === '' ? undefined : sent, hosted: hosted === '' ? undefined : hosted };
}

function pageOf(next: AgentListCursors): string {
  return `${next.sent ?? LIST_END},${next.hosted ?? LIST_END}`;
}
