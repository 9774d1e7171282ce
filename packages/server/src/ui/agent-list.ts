// The agents view of the web UI: agents sent to peers and agents hosted for them in one
// list, newest first, filtered and paged. Each list keeps its own cursor; a page takes the
// newest of both, and the next page goes on from the last agent each list gave.
import { AgentFilterSchema, type AgentFilter, type AgentStatus } from '@mosaic-fed/core';
import type { FederationAgentService } from '../agents/federation-agents.js';
import type { HostedAgents } from '../agents/hosted.js';
import { encodeCursor } from '../stores/lib-cursor.js';

/** One agent of the view: sent (this instance asked a peer to run it) or hosted (it runs here for a peer). */
export interface AgentRow {
  agentId: string;
  direction: 'sent' | 'hosted';
  connectionId: string;
  status: AgentStatus;
  createdAt: string;
}

/** The view's filters as typed into its form. */
export interface AgentListForm {
  peer: string;
  status: string;
  type: string;
  task: string;
  show: 'all' | 'sent' | 'hosted';
}

/** Where each list goes on from: its store cursor, the start (`undefined`), or its end. */
export interface AgentListCursors {
  sent?: string | undefined;
  hosted?: string | undefined;
}

/** A cursor parameter that says a list has nothing more. */
export const LIST_END = 'end';

export interface AgentListQuery {
  form: AgentListForm;
  filter?: AgentFilter;
  cursors: AgentListCursors;
  note?: string;
}

/** The view's query string: its form, and the filters or a note on what to change. */
export function agentListQueryOf(raw: Record<string, string>): AgentListQuery {
  const field = (name: string) => (raw[name] ?? '').trim();
  const show = field('show');
  const form: AgentListForm = {
    peer: field('peer'),
    status: field('status'),
    type: field('type'),
    task: field('task'),
    show: show === 'sent' || show === 'hosted' ? show : 'all',
  };
  const cursors: AgentListCursors = {
    sent: field('sent') === '' ? undefined : field('sent'),
    hosted: field('hosted') === '' ? undefined : field('hosted'),
  };
  const present = (value: string) => (value === '' ? undefined : value);
  const parsed = AgentFilterSchema.safeParse({
    connectionId: present(form.peer),
    status: present(form.status),
    agentType: present(form.type),
    taskId: present(form.task),
  });
  if (parsed.success) return { form, filter: parsed.data, cursors };
  return { form, cursors, note: 'These filters need another look: a task id is letters, digits and . _ : - as the agent was started with.' };
}

/** One page of the view, newest first, and where the next one starts (`null`: this is the last). */
export async function agentRows(
  deps: { agents: FederationAgentService; hosted: HostedAgents },
  query: { filter: AgentFilter; show: AgentListForm['show']; cursors: AgentListCursors; limit: number },
): Promise<{ rows: AgentRow[]; next: AgentListCursors | null }> {
  const { filter, limit, cursors } = query;
  const wanted = (list: 'sent' | 'hosted') => (query.show === 'all' || query.show === list) && cursors[list] !== LIST_END;
  const [sent, hosted] = await Promise.all([
    wanted('sent') ? deps.agents.list({ ...filter, limit, cursor: cursors.sent, newestFirst: true }) : undefined,
    wanted('hosted') ? deps.hosted.list({ ...filter, limit, cursor: cursors.hosted, newestFirst: true }) : undefined,
  ]);
  const all: AgentRow[] = [
    ...(sent?.agents ?? []).map((agent) => ({ agentId: agent.agentId, direction: 'sent' as const, connectionId: agent.connectionId, status: agent.status, createdAt: agent.createdAt })),
    ...(hosted?.agents ?? []).map((agent) => ({ agentId: agent.agentId, direction: 'hosted' as const, connectionId: agent.connectionId, status: agent.status, createdAt: agent.createdAt })),
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
