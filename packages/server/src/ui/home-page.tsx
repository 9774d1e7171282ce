// The home page of the web UI: how the instance is doing, at a glance. Each part says its
// state in words (a badge repeats it): what runs agents and how they are kept apart, the
// shared services, the events waiting for peers, and the agents that failed lately.
import type { InstanceConfiguration } from '@mosaic-fed/core';
import type { HealthCheck } from '../instance/health.js';
import type { OutboxBacklog } from '../stores/types.js';
import type { AgentRow } from '../agents/overview.js';
import { AgentBadge } from './agent-pages.js';
import { utcTime } from '../lib/times.js';
import { Badge, Layout } from './layout.js';

const STATE_WORDS: Record<HealthCheck['state'], string> = { good: 'fine', bad: 'needs a look', quiet: 'not in use' };

/** How long ago, in the largest unit that fits: 40 s, 12 min, 3 h, 2 days. */
function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)} h`;
  return `${Math.floor(seconds / 86_400)} days`;
}

export function HomePage(props: {
  instance: InstanceConfiguration;
  checks: HealthCheck[];
  outbox: OutboxBacklog;
  failures: AgentRow[];
  peerNames: Map<string, string>;
  now: Date;
  csrf: string;
}) {
  const { outbox } = props;
  const outboxState: HealthCheck['state'] = outbox.retrying > 0 ? 'bad' : outbox.pending > 0 ? 'good' : 'quiet';
  return (
    <Layout title="Home" signedIn csrf={props.csrf}>
      <h1>{props.instance.name}</h1>
      <p>
        <code>{props.instance.url}</code>
      </p>
      <section aria-labelledby="health">
        <h2 id="health">How this instance is doing</h2>
        <table id="health-checks" class="stack">
          <thead>
            <tr>
              <th scope="col">Part</th>
              <th scope="col">State</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {props.checks.map((check) => (
              <tr data-check={check.name}>
                <td data-label="Part">{check.name}</td>
                <td data-label="State">
                  <Badge tone={check.state}>{STATE_WORDS[check.state]}</Badge>
                </td>
                <td data-label="Details">{check.words}</td>
              </tr>
            ))}
            <tr data-check="outbox">
              <td data-label="Part">Events for peers</td>
              <td data-label="State">
                <Badge tone={outboxState}>{outbox.retrying > 0 ? 'retrying' : outbox.pending > 0 ? 'on their way' : 'none waiting'}</Badge>
              </td>
              <td data-label="Details" id="outbox">
                {outbox.pending === 0
                  ? 'Every status change has reached its peer.'
                  : `${outbox.pending} waiting, the oldest for ${ago(props.now.getTime() - (outbox.oldestCreatedAt ?? props.now.getTime()))}${
                      outbox.retrying > 0 ? `; ${outbox.retrying} of them after a try that did not reach the peer` : ''
                    }. Each is tried again with growing pauses, for at least a day.`}
              </td>
            </tr>
          </tbody>
        </table>
      </section>
      <section aria-labelledby="failures">
        <h2 id="failures">Agents that ended without a result lately</h2>
        {props.failures.length === 0 ? (
          <p>None.</p>
        ) : (
          <>
            <ul id="recent-failures">
              {props.failures.map((row) => (
                <li>
                  <a href={`/federation/${row.direction === 'sent' ? 'agents' : 'hosted'}/${row.agentId}`}>{row.status.taskId}</a> <AgentBadge status={row.status.status} />{' '}
                  {row.direction === 'sent' ? 'on' : 'here, for'} {props.peerNames.get(row.connectionId) ?? 'a former peer'}
                  {row.status.completedAt === null ? '' : `, ${utcTime(row.status.completedAt)} UTC`}: {row.status.error ?? 'no reason was given'}
                </li>
              ))}
            </ul>
            <p>
              <a href="/federation/agents?status=failed">All of them</a>
            </p>
          </>
        )}
      </section>
    </Layout>
  );
}
