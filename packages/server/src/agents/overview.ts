// The agents an instance knows, as its admin looks at them: those it sent to peers and
// those it hosts for them, from the API (two lists, each paged) and, in one list newest
// first, from the web UI and the `mosaic-fed agents` command.
import type { Actor, AgentFilter, AgentsOverview, AgentsOverviewQuery, AgentStatus, HostedAgent } from '@mosaic-fed/core';
import { visibleWorkspaces, type Principal } from '../auth/principal.js';
import { encodeCursor } from '../stores/lib-cursor.js';
import type { FederationAgentService } from './federation-agents.js';
import type { HostedAgents } from './hosted.js';

/** The services the views read. */
export interface AgentViews {
  agents: FederationAgentService;
  hosted: HostedAgents;
}

/**
 * Agents sent elsewhere and agents hosted here, each a page (PROTOCOL 6). A user sees the
 * agents of their workspaces; the agents this machine runs for peers are its admins' to see.
 */
export async function agentsOverview(deps: AgentViews, query: AgentsOverviewQuery, as: Principal): Promise<AgentsOverview> {
  const { sentCursor, hostedCursor, order, ...filter } = query;
  const newestFirst = order === 'newest';
  const [sent, run] = await Promise.all([
    deps.agents.list({ ...filter, newestFirst, cursor: sentCursor, workspaceIds: visibleWorkspaces(as) }),
    as.kind === 'admin' ? deps.hosted.list({ ...filter, newestFirst, cursor: hostedCursor }) : { agents: [], nextCursor: null },
  ]);
  return {
    sent: { items: sent.agents, nextCursor: sent.nextCursor },
    hosted: { items: run.agents.map(toHostedAgent), nextCursor: run.nextCursor },
  };
}

/** A hosted agent's record as the API shows it (`HostedAgentSchema`), without the store's bookkeeping. */
export function toHostedAgent({ agentId, connectionId, ownerInstanceId, actor, via, status, createdAt }: HostedAgent): HostedAgent {
  return { agentId, connectionId, ownerInstanceId, ...(actor === undefined ? {} : { actor }), ...(via === undefined ? {} : { via }), status, createdAt };
}

/** One agent of the merged list: sent (this instance asked a peer to run it) or hosted (it runs here for a peer). */
export interface AgentRow {
  agentId: string;
  direction: 'sent' | 'hosted';
  connectionId: string;
  /** The user and workspace it was spawned for: one of this instance's (sent), or of the peer's (hosted). */
  onBehalfOf?: Actor | undefined;
  status: AgentStatus;
  createdAt: string;
}

/** Which of the two lists the merged one takes. */
export type AgentRowsShown = 'all' | 'sent' | 'hosted';

/** Where each list goes on from: its store cursor, the start (`undefined`), or its end ({@link LIST_END}). */
export interface AgentListCursors {
  sent?: string | undefined;
  hosted?: string | undefined;
}

/** A cursor that says a list has nothing more. */
export const LIST_END = 'end';

/**
 * One page of sent and hosted agents in one list, newest first, and where the next page
 * starts (`null`: this is the last). Each list keeps its own cursor: a page takes the
 * newest of both, and the next one goes on from the last agent each list gave.
 */
export async function agentRows(
  deps: AgentViews,
  query: {
    filter: AgentFilter;
    show: AgentRowsShown;
    cursors: AgentListCursors;
    limit: number;
    /** A user's list: the sent agents of these workspaces only, and none hosted (those are the admins'). */
    workspaceIds?: readonly string[] | undefined;
  },
): Promise<{ rows: AgentRow[]; next: AgentListCursors | null }> {
  const { filter, limit, cursors, workspaceIds } = query;
  const wanted = (list: 'sent' | 'hosted') =>
    (query.show === 'all' || query.show === list) && cursors[list] !== LIST_END && (list === 'sent' || workspaceIds === undefined);
  const [sent, hosted] = await Promise.all([
    wanted('sent') ? deps.agents.list({ ...filter, limit, cursor: cursors.sent, newestFirst: true, workspaceIds }) : undefined,
    wanted('hosted') ? deps.hosted.list({ ...filter, limit, cursor: cursors.hosted, newestFirst: true }) : undefined,
  ]);
  const all: AgentRow[] = [
    ...(sent?.agents ?? []).map((agent) => ({ agentId: agent.agentId, direction: 'sent' as const, connectionId: agent.connectionId, onBehalfOf: agent.owner, status: agent.status, createdAt: agent.createdAt })),
    ...(hosted?.agents ?? []).map((agent) => ({ agentId: agent.agentId, direction: 'hosted' as const, connectionId: agent.connectionId, onBehalfOf: agent.actor, status: agent.status, createdAt: agent.createdAt })),
  ].sort((a, b) => (a.createdAt === b.createdAt ? (a.agentId < b.agentId ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1));
  const rows = all.slice(0, limit);
  const nextOf = (list: 'sent' | 'hosted', page: { agents: unknown[]; nextCursor: string | null } | undefined): string => {
    if (page === undefined) return LIST_END;
    const taken = rows.filter((row) => row.direction === list);
    const last = taken.at(-1);
    // Every agent this list gave is shown: go on where the store said (or it is done).
    if (taken.length === page.agents.length) return page.nextCursor ?? LIST_END;
    // Some are not shown yet: go on after the last one shown (or from where this page began).
    return last === undefined ? (cursors[list] ?? '') : encodeCursor(last.createdAt, last.agentId);
  };
  const next = { sent: nextOf('sent', sent), hosted: nextOf('hosted', hosted) };
  return { rows, next: next.sent === LIST_END && next.hosted === LIST_END ? null : { sent: next.sent || undefined, hosted: next.hosted || undefined } };
}
