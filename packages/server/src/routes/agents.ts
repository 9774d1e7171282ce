import {
  AgentsOverviewQuerySchema,
  AgentStatusesDtoSchema,
  ApprovalAnswerSchema,
  AgentTranscriptPayloadSchema,
  AgentStatusQuerySchema,
  IdempotencyKeySchema,
  isTerminalState,
  LIMITS,
  SpawnAgentDtoSchema,
  type AgentBundleRef,
  type AgentStatusChangedPayload,
} from '@mosaic-fed/core';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { DeliveryService } from '../agents/deliveries.js';
import type { FederationAgentService } from '../agents/federation-agents.js';
import type { HostedAgents } from '../agents/hosted.js';
import { agentsOverview, toHostedAgent } from '../agents/overview.js';
import { spawnAccess, type Principal } from '../auth/principal.js';
import type { EventBus } from '../replicas/event-bus.js';
import { setBackgroundTimeout } from '../lib/background.js';
import type { AdminVariables } from '../middleware/admin-auth.js';
import type { FederationStores } from '../stores/types.js';
import { ok, validate } from './http.js';

const LastEventIdSchema = z.coerce.number().int().min(0).catch(0);

/** `GET /agents/:agentId/transcript`: a page of the transcript, from the peer's cursor. */
const TranscriptQuerySchema = AgentTranscriptPayloadSchema.pick({ cursor: true }).extend({
  limit: z.coerce.number().int().min(1).max(LIMITS.listLimitMax).optional(),
});

/** The optional key of a spawn (PROTOCOL 6); header names are matched in any case. */
const SpawnHeadersSchema = z.object({ 'Idempotency-Key': IdempotencyKeySchema.optional() });

/** How often an idle event stream sends a comment, so proxies keep it open. */
const KEEPALIVE_MS = 15_000;
/** How often an event stream reads the store when the bus brought nothing. */
const RECHECK_MS = 2_000;
/** How long a spawn waits for the peer: less than the SDK's 30 s per call. */
const SPAWN_DEADLINE_MS = 25_000;

/** The headers of a checked bundle sent as it is: `git fetch` or `git bundle unbundle` takes the file. */
export function bundleHeaders(ref: AgentBundleRef): Record<string, string> {
  return {
    'Content-Type': 'application/x-git-bundle',
    'Content-Disposition': `attachment; filename="${ref.branch.replace(/[^A-Za-z0-9._-]/g, '-')}.bundle"`,
    'Cache-Control': 'no-store',
    'X-Bundle-Sha256': ref.sha256,
  };
}

/** PROTOCOL 6: the agent routes of the instance's own API. */
export function agentRoutes(deps: {
  agents: FederationAgentService;
  deliveries: DeliveryService;
  hosted: HostedAgents;
  events: EventBus;
  stores: FederationStores;
  monotonic: () => number;
}) {
  const { agents } = deps;
  return new Hono<{ Variables: AdminVariables }>()
    .post('/spawn', validate('header', SpawnHeadersSchema, 'headers'), validate('json', SpawnAgentDtoSchema, 'spawn request'), async (c) => {
      const { connectionId, workspaceId, payload } = c.req.valid('json');
      const idempotencyKey = c.req.valid('header')['Idempotency-Key'];
      const owner = await spawnAccess(c.var.principal, { connectionId, workspaceId }, deps.stores.people);
      return ok(c, await agents.spawn(connectionId, payload, c.var.actor, { idempotencyKey, owner, signal: spawnDeadline(c) }), 201);
    })
    .get('/', validate('query', AgentsOverviewQuerySchema, 'query'), async (c) => ok(c, await agentsOverview(deps, c.req.valid('query'), c.var.principal)))
    .post('/statuses', validate('json', AgentStatusesDtoSchema, 'agent ids'), async (c) => ok(c, await agents.statuses(c.req.valid('json').agentIds, c.var.principal)))
    .get('/:agentId/status', validate('query', AgentStatusQuerySchema, 'query'), async (c) =>
      ok(c, await agents.status(c.req.param('agentId'), c.req.valid('query').refresh === 'true', c.var.principal)),
    )
    .get('/:agentId/transcript', validate('query', TranscriptQuerySchema, 'query'), async (c) =>
      ok(c, await agents.transcript(c.req.param('agentId'), c.req.valid('query'), c.var.principal)),
    )
    .get('/:agentId/bundle', async (c) => {
      const { ref, data } = await agents.bundle(c.req.param('agentId'), c.var.principal);
      return c.body(data, 200, bundleHeaders(ref));
    })
    .get('/:agentId/delivery', async (c) => {
      await agents.get(c.req.param('agentId'), c.var.principal);
      return ok(c, await deps.deliveries.get(c.req.param('agentId')));
    })
    .post('/:agentId/kill', async (c) => ok(c, await agents.kill(c.req.param('agentId'), c.var.actor, c.var.principal)))
    .post('/:agentId/respond', validate('json', ApprovalAnswerSchema, 'answer'), async (c) =>
      ok(c, await agents.respond(c.req.param('agentId'), c.req.valid('json'), c.var.actor, c.var.principal)),
    )
    .get('/:agentId/events', (c) => streamAgentEvents(c, c.req.param('agentId'), deps, c.var.principal));
}

/**
 * How long a spawn waits for the peer: within the SDK's own timeout, and no longer than
 * the caller waits. A spawn not answered by then is sent again in the background, and a
 * retry with the same key returns its agent.
 */
export function spawnDeadline(c: Context): AbortSignal {
  return AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(SPAWN_DEADLINE_MS)]);
}

/**
 * The Server-Sent Events of an agent this instance spawned elsewhere: its status
 * changes from `Last-Event-ID` on, until a terminal one (PROTOCOL 6). Shared by the API
 * and the web UI.
 */
export async function streamAgentEvents(
  c: Context,
  agentId: string,
  deps: { agents: FederationAgentService; events: EventBus; stores: FederationStores; monotonic: () => number },
  as?: Principal,
): Promise<Response> {
  const { agents, events, monotonic } = deps;
  const agent = await agents.get(agentId, as);
  const after = LastEventIdSchema.parse(c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? 0);
  c.header('Cache-Control', 'no-store');
  // The agent ended at or before the client's last event: nothing will follow, and
  // 204 tells an SSE client not to reconnect.
  if (isTerminalState(agent.status.status) && agent.sequence <= after) return c.body(null, 204);
  return streamSSE(c, async (stream) => {
    // The store is the record; the bus only wakes the stream. So whatever the bus
    // misses (a subscription not yet live on another replica, a lost connection to
    // Valkey) is read from the store at the next wake, at most RECHECK_MS later.
    const pending: AgentStatusChangedPayload[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = events.subscribe(agentId, (event) => {
      pending.push(event);
      wake?.();
    });
    stream.onAbort(() => wake?.());
    try {
      let sent = after;
      let lastWrite = monotonic();
      let finished = false;
      while (!finished && !stream.aborted) {
        pending.push(...(await deps.stores.remoteAgents.events(agentId, sent)));
        pending.sort((a, b) => a.sequence - b.sequence);
        for (const event of pending.splice(0)) {
          if (event.sequence <= sent) continue;
          await stream.writeSSE({ id: String(event.sequence), event: 'agent.status.changed', data: JSON.stringify(event) });
          sent = event.sequence;
          lastWrite = monotonic();
          if (isTerminalState(event.status)) finished = true;
        }
        // Events that arrived while the last ones were written go out without a wait.
        if (finished || pending.length > 0) continue;
        await new Promise<void>((done) => {
          wake = done;
          setBackgroundTimeout(done, RECHECK_MS);
        });
        wake = undefined;
        if (!stream.aborted && monotonic() - lastWrite >= KEEPALIVE_MS) {
          await stream.write(': keep-alive\n\n');
          lastWrite = monotonic();
        }
      }
    } finally {
      unsubscribe();
    }
  });
}

/**
 * Agents this instance runs for peers, for this instance's admin: one agent's record (with
 * the orchestrator's latest status) and stopping it on this machine. The owner hears of a
 * stop through the agent's status events.
 */
export function hostedAgentRoutes(deps: { hosted: HostedAgents }) {
  return new Hono<{ Variables: AdminVariables }>()
    .get('/:agentId', async (c) => ok(c, toHostedAgent(await deps.hosted.get(c.req.param('agentId')))))
    .post('/:agentId/kill', async (c) => ok(c, await deps.hosted.stopAgent(c.req.param('agentId'), c.var.actor)));
}
