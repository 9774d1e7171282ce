// The agents view of the web UI: its query string as the filters and cursors of the
// merged list of sent and hosted agents (agents/overview.ts).
import { AgentFilterSchema, type AgentFilter } from '@mosaic-fed/core';
import type { AgentListCursors, AgentRowsShown } from '../agents/overview.js';

/** The view's filters as typed into its form. */
export interface AgentListForm {
  peer: string;
  status: string;
  type: string;
  task: string;
  show: AgentRowsShown;
}

/** The view's query string, read: what to show, and from where. */
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
