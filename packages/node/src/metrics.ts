// The Node entry's Prometheus metrics (prom-client), at /api/v1/federation/metrics behind
// the same admin authentication as the rest of the instance's API. What the server does is
// counted through its observer hooks; what it holds (agents, the outbox, a day's tokens)
// is read from its stores when the endpoint is scraped, so nothing is counted twice and
// every replica reports the same shared state.
import { isTerminalState } from '@mosaic-fed/core';
import type { OrchestratorBacklog, OrchestratorObserver } from '@mosaic-fed/orchestrator';
import type { AdminVariables, Federation, FederationObserver } from '@mosaic-fed/server';
import { Hono } from 'hono';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics of one instance: its observer for the server, and the route that serves them. */
export interface FederationMetrics {
  observer: FederationObserver;
  /** The `/metrics` route group, mounted beside the instance's own API. */
  routes: Hono<{ Variables: AdminVariables }>;
  /** Gives the collectors the federation whose stores they read; before it, they report none. */
  bind(federation: Pick<Federation, 'stores' | 'hosted' | 'connections'>): void;
}

export interface FederationMetricsOptions {
  now?: () => Date;
  /** More metrics served at the same endpoint: the orchestrator's ({@link createOrchestratorMetrics}). */
  registries?: readonly Registry[];
}

export function createFederationMetrics(options: FederationMetricsOptions = {}): FederationMetrics {
  const now = options.now ?? (() => new Date());
  const own = new Registry();
  collectDefaultMetrics({ register: own, prefix: 'mosaic_fed_' });
  let federation: Pick<Federation, 'stores' | 'hosted' | 'connections'> | undefined;

  const requests = new Counter({
    name: 'mosaic_fed_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [own],
  });
  const durations = new Histogram({
    name: 'mosaic_fed_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers: [own],
  });
  const refused = new Counter({
    name: 'mosaic_fed_message_verification_failures_total',
    help: "Peers' messages refused before they were read, by the code they got (PROTOCOL 2)",
    labelNames: ['code'],
    registers: [own],
  });
  new Gauge({
    name: 'mosaic_fed_hosted_agents',
    help: 'Agents this instance runs for peers that have not ended, by state and type',
    labelNames: ['state', 'type'],
    registers: [own],
    async collect() {
      this.reset();
      for (const agent of (await federation?.stores.hostedAgents.listActive()) ?? []) {
        if (!isTerminalState(agent.status.status)) this.inc({ state: agent.status.status, type: agent.status.agentType });
      }
    },
  });
  const outbox = async () => federation?.stores.outbox.backlog(now().getTime());
  new Gauge({
    name: 'mosaic_fed_outbox_backlog',
    help: 'Events waiting in the outbox for a peer, and how many of them are being retried',
    labelNames: ['kind'],
    registers: [own],
    async collect() {
      const backlog = await outbox();
      this.set({ kind: 'pending' }, backlog?.pending ?? 0);
      this.set({ kind: 'retrying' }, backlog?.retrying ?? 0);
    },
  });
  new Gauge({
    name: 'mosaic_fed_outbox_oldest_age_seconds',
    help: 'Age of the oldest event waiting in the outbox; 0 when none waits',
    registers: [own],
    async collect() {
      const oldest = (await outbox())?.oldestCreatedAt ?? null;
      this.set(oldest === null ? 0 : Math.max(0, (now().getTime() - oldest) / 1000));
    },
  });
  new Gauge({
    name: 'mosaic_fed_connection_tokens_today',
    help: "Model tokens a connection's agents here used today (UTC), by connection",
    labelNames: ['connection', 'peer'],
    registers: [own],
    async collect() {
      this.reset();
      const active = (await federation?.connections.list('ACTIVE')) ?? [];
      for (const connection of active) {
        const usage = await federation?.hosted.usageToday(connection.id);
        this.set({ connection: connection.id, peer: connection.peerName }, usage?.tokens ?? 0);
      }
    },
  });

  const observer: FederationObserver = {
    request: ({ method, route, status, seconds }) => {
      requests.inc({ method, route, status: String(status) });
      durations.observe({ method, route }, seconds);
    },
    verificationFailure: (code) => refused.inc({ code }),
  };
  // Merged once every metric of this instance is made: a merge takes the metrics there are then.
  const registry = Registry.merge([own, ...(options.registries ?? [])]);
  const routes = new Hono<{ Variables: AdminVariables }>().get('/', async (c) =>
    c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }),
  );
  return {
    observer,
    routes,
    bind(bound) {
      federation = bound;
    },
  };
}

/** The orchestrator's metrics: its observer, and the registry the instance's endpoint serves beside its own. */
export interface OrchestratorMetrics {
  observer: OrchestratorObserver;
  registry: Registry;
}

/**
 * Metrics of the orchestrator a Node instance runs agents with: how long sandboxes take to
 * start (in this process), and the agents it holds, queued and running (read from
 * `backlog` at each scrape: the queue on Valkey, or the places in this process).
 */
export function createOrchestratorMetrics(backlog?: () => OrchestratorBacklog | Promise<OrchestratorBacklog>): OrchestratorMetrics {
  const registry = new Registry();
  const starts = new Histogram({
    name: 'mosaic_fed_sandbox_start_seconds',
    help: "Time to start an agent's sandbox, by provider",
    labelNames: ['provider'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  if (backlog !== undefined) {
    new Gauge({
      name: 'mosaic_fed_agent_queue',
      help: 'Agents the orchestrator holds that have not ended: queued for a place or a worker, and running',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        // A queue that cannot be read now (Valkey away) reports nothing rather than fail the scrape.
        const counts = await Promise.resolve()
          .then(backlog)
          .catch(() => undefined);
        this.reset();
        if (counts === undefined) return;
        this.set({ state: 'queued' }, counts.queued);
        this.set({ state: 'running' }, counts.running);
      },
    });
  }
  return { observer: { sandboxStarted: ({ provider, seconds }) => starts.observe({ provider }, seconds) }, registry };
}
