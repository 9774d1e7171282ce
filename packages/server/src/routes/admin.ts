import { AuditQuerySchema, UpdateInstanceDtoSchema, type AuditActor, type AuditQuery, type RegenerateKeysResponse } from '@mosaic-fed/core';
import { Hono } from 'hono';
import { revokeAdminToken, toAdminToken } from '../auth/admin-tokens.js';
import type { ConnectionService } from '../connections/service.js';
import type { InstanceService } from '../instance/service.js';
import type { AdminVariables } from '../middleware/admin-auth.js';
import { agentRoutes, hostedAgentRoutes } from './agents.js';
import { connectionRoutes } from './connections.js';
import type { AuditListOptions } from '../stores/types.js';
import { ok, validate } from './http.js';

type AgentDeps = Parameters<typeof agentRoutes>[0];

/** An audit query as the stores take it: its times in UTC, as entries are written. */
export function auditListOf(query: AuditQuery): AuditListOptions {
  const utc = (at: string | undefined) => (at === undefined ? undefined : new Date(at).toISOString());
  return { ...query, since: utc(query.since), until: utc(query.until) };
}

/**
 * PROTOCOL 6: the instance's own API under `/api/v1/federation`, behind admin
 * authentication (the app puts it in front). Its type is {@link FederationApi}.
 */
export function adminRoutes(deps: AgentDeps & {
  instance: InstanceService;
  connections: ConnectionService;
  /** Makes a new key pair and tells every ACTIVE peer (PROTOCOL 4). */
  regenerateKeys: (actor: AuditActor) => Promise<RegenerateKeysResponse>;
  now: () => Date;
  generateId: () => string;
}) {
  const { instance, stores, now, generateId } = deps;
  return new Hono<{ Variables: AdminVariables }>()
    .use(async (c, next) => {
      c.header('Cache-Control', 'no-store');
      await next();
    })
    .get('/instance', async (c) => ok(c, instance.configuration(await instance.load())))
    .patch('/instance', validate('json', UpdateInstanceDtoSchema, 'instance update'), async (c) => ok(c, await instance.update(c.req.valid('json'), c.var.actor)))
    .post('/instance/regenerate-keys', async (c) => ok(c, await deps.regenerateKeys(c.var.actor)))
    .get('/admin-tokens', async (c) => ok(c, (await stores.adminTokens.list()).map(toAdminToken)))
    .delete('/admin-tokens/:id', async (c) =>
      ok(c, await revokeAdminToken({ store: stores.adminTokens, id: c.req.param('id'), actor: c.var.actor, now, generateId })),
    )
    .get('/audit', validate('query', AuditQuerySchema, 'query'), async (c) => ok(c, await stores.audit.list(auditListOf(c.req.valid('query')))))
    .route('/connections', connectionRoutes(deps.connections))
    .route('/agents', agentRoutes(deps))
    .route('/hosted-agents', hostedAgentRoutes(deps));
}

/**
 * The instance's own API at `/api/v1/federation`, with `extra` route groups beside its
 * own (the Node entry adds its git credentials).
 */
export function federationApi(deps: Parameters<typeof adminRoutes>[0], extra: Record<string, Hono<{ Variables: AdminVariables }>> = {}) {
  const admin = adminRoutes(deps);
  for (const [path, routes] of Object.entries(extra)) admin.route(`/${path}`, routes);
  return new Hono().route('/api/v1/federation', admin);
}

/**
 * The routes of the instance's own API, for `hono/client`: requests and answers are
 * typed from the same zod schemas the routes validate with.
 *
 * @example
 * ```ts
 * import { hc } from 'hono/client';
 * const api = hc<FederationApi>('https://hub.example.com', { headers: { Authorization: `Bearer ${token}` } });
 * const answer = await api.api.v1.federation.instance.$patch({ json: { name: 'Hub West' } });
 * ```
 */
export type FederationApi = ReturnType<typeof federationApi>;
