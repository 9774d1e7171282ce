import { describe, expect, it } from 'vitest';
import { createFederationMetrics, createOrchestratorMetrics } from './metrics.js';

// The metrics' own answers before anything feeds them (metrics.test.ts in test/ reads them
// from real instances): a scrape never fails for what is not there yet.
const valueOf = (text: string, series: string) => text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1];

describe('metrics with nothing to read yet', () => {
  it('an instance not yet bound reports no agents, an empty outbox of age 0, and no tokens', async () => {
    const metrics = createFederationMetrics({ now: () => new Date('2026-12-07T12:00:00Z') });
    const response = await metrics.routes.request('http://instance.test/');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(valueOf(text, 'mosaic_fed_outbox_backlog{kind="pending"}')).toBe('0');
    expect(valueOf(text, 'mosaic_fed_outbox_backlog{kind="retrying"}')).toBe('0');
    expect(valueOf(text, 'mosaic_fed_outbox_oldest_age_seconds')).toBe('0');
    expect(text).not.toMatch(/^mosaic_fed_hosted_agents\{/m);
    expect(text).not.toMatch(/^mosaic_fed_connection_tokens_today\{/m);
    metrics.observer.verificationFailure?.('UNKNOWN_KEY');
    expect(valueOf(await (await metrics.routes.request('http://instance.test/')).text(), 'mosaic_fed_message_verification_failures_total{code="UNKNOWN_KEY"}')).toBe('1');
  });

  it("an orchestrator's queue: counted when it can be read, left out (not failed) when it cannot, absent without one", async () => {
    let reachable = true;
    const queued = createOrchestratorMetrics(() => {
      if (!reachable) throw new Error('Connection is closed.');
      return { queued: 3, running: 2 };
    });
    const read = await queued.registry.metrics();
    expect(valueOf(read, 'mosaic_fed_agent_queue{state="queued"}')).toBe('3');
    expect(valueOf(read, 'mosaic_fed_agent_queue{state="running"}')).toBe('2');
    reachable = false;
    const unread = await queued.registry.metrics();
    expect(unread).toContain('# TYPE mosaic_fed_agent_queue gauge');
    expect(unread).not.toMatch(/^mosaic_fed_agent_queue\{/m);

    const plain = createOrchestratorMetrics();
    plain.observer.sandboxStarted?.({ provider: 'bubblewrap', seconds: 0.2 });
    const text = await plain.registry.metrics();
    expect(text).not.toContain('mosaic_fed_agent_queue');
    expect(valueOf(text, 'mosaic_fed_sandbox_start_seconds_count{provider="bubblewrap"}')).toBe('1');
  });
});
