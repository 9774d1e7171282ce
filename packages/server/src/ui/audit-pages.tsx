// The audit log page of the web UI: newest first, kept to an action, an actor and a time
// span, a page at a time, and exported as JSON lines with the same filters.
import type { AuditEntry } from '@mosaic-fed/core';
import { utcTime } from '../lib/times.js';
import { actorInWords, Layout } from './layout.js';

/** The filters as the form holds them: what the person typed, times as `datetime-local` gives them (UTC). */
export interface AuditFilterForm {
  action: string;
  actor: string;
  since: string;
  until: string;
}

/** The form's query string, without the empty fields, and with `extra`. */
export function auditSearch(form: AuditFilterForm, extra: Record<string, string> = {}): string {
  const entries = Object.entries({ ...form, ...extra }).filter(([, value]) => value !== '');
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

const actorOf = (entry: AuditEntry) => {
  const { type, id, label, onBehalfOf } = entry.actor;
  const who = label === undefined ? `${type} ${id}` : `${label} (${type})`;
  return onBehalfOf === undefined ? who : `${who}, for its ${actorInWords(onBehalfOf)}`;
};

export function AuditPage(props: { entries: AuditEntry[]; nextCursor: string | null; form: AuditFilterForm; note?: string | undefined; csrf: string }) {
  const { form } = props;
  return (
    <Layout title="Audit log" signedIn csrf={props.csrf}>
      <h1>Audit log</h1>
      <p>Every change made on this instance, newest first: who made it, when, and what it changed.</p>
      <form method="get" action="/federation/audit" class="filters" aria-label="Filter the audit log">
        <div>
          <label for="audit-action">Action</label>
          <input id="audit-action" name="action" value={form.action} placeholder="connection" aria-describedby="audit-action-help" />
        </div>
        <div>
          <label for="audit-actor">Who</label>
          <input id="audit-actor" name="actor" value={form.actor} placeholder="cli" aria-describedby="audit-actor-help" />
        </div>
        <div>
          <label for="audit-since">From (UTC)</label>
          <input id="audit-since" name="since" type="datetime-local" value={form.since} />
        </div>
        <div>
          <label for="audit-until">Until (UTC)</label>
          <input id="audit-until" name="until" type="datetime-local" value={form.until} />
        </div>
        <button type="submit">Show these entries</button>
      </form>
      <p class="help" id="audit-action-help">
        An action keeps the actions below it too: <code>connection</code> keeps <code>connection.accept</code>.
      </p>
      <p class="help" id="audit-actor-help">
        Who is an id (an admin token's, a peer's), or a kind for all of that kind: <code>admin-token</code>, <code>oidc</code>, <code>cli</code>,{' '}
        <code>peer</code>, <code>system</code>.
      </p>
      {props.note === undefined ? null : <p class="note" role="status">{props.note}</p>}
      <p>
        <a href={`/federation/audit/export${auditSearch(form)}`} download="audit.jsonl">
          Export these entries as JSON lines
        </a>
      </p>
      {props.entries.length === 0 ? (
        <p>No entries match.</p>
      ) : (
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
            </tr>
          </thead>
          <tbody>
            {props.entries.map((entry) => (
              <tr>
                <td data-label="When (UTC)">{utcTime(entry.at, true)}</td>
                <td data-label="Who">{actorOf(entry)}</td>
                <td data-label="What">
                  <code>{entry.action}</code>
                  {entry.target === null ? null : (
                    <>
                      {' '}
                      on <code>{entry.target}</code>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.nextCursor === null ? null : (
        <p>
          <a href={`/federation/audit${auditSearch(form, { cursor: props.nextCursor })}`}>Older entries</a>
        </p>
      )}
    </Layout>
  );
}
