import {
  AuditQuerySchema,
  CreateUserDtoSchema,
  CreateUserTokenDtoSchema,
  CreateWorkspaceDtoSchema,
  SetMembershipDtoSchema,
  UpdateInstanceDtoSchema,
  UpdateWorkspaceDtoSchema,
  type AuditActor,
  type AuditQuery,
  type RegenerateKeysResponse,
} from '@mosaic-fed/core';
import { Hono } from 'hono';
import type { A2AClients } from '../a2a/clients.js';
import type { A2ARemoteAgents } from '../a2a/remote-agents.js';
import { revokeAdminToken, toAdminToken } from '../auth/admin-tokens.js';
import type { ConnectionService } from '../connections/service.js';
import type { InstanceService } from '../instance/service.js';
import { principalView, workspaceAccess } from '../auth/principal.js';
import { requireAdmin, type AdminVariables } from '../middleware/admin-auth.js';
import type { PeopleService } from '../people/service.js';
import { a2aAgentRoutes, a2aClientRoutes } from './a2a-clients.js';
import { agentRoutes, hostedAgentRoutes } from './agents.js';
import { connectionRoutes } from './connections.js';
import type { AuditListOptions } from '../stores/types.js';
import { ok, validate } from './http.js';

type AgentDeps = Parameters<typeof agentRoutes>[0];

/**
 * What a user may call: their agents and their workspaces' members (each route checks the
 * workspace), and who they are.
 */
const USER_PATHS = /^\/api\/v1\/federation\/(?:agents(?:\/.*)?|me|workspaces\/[^/]+\/members(?:\/[^/]+)?)$/;

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
  people: PeopleService;
  a2aClients: A2AClients;
  a2aAgents: A2ARemoteAgents;
  /** Makes a new key pair and tells every ACTIVE peer (PROTOCOL 4). */
  regenerateKeys: (actor: AuditActor) => Promise<RegenerateKeysResponse>;
  now: () => Date;
  generateId: () => string;
}) {
  const { instance, stores, now, generateId, people } = deps;
  return new Hono<{ Variables: AdminVariables }>()
    .use(async (c, next) => {
      c.header('Cache-Control', 'no-store');
      await next();
    })
    // Users reach their agents and themselves; everything else is the admins'.
    .use(requireAdmin((path) => USER_PATHS.test(path)))
    .get('/me', (c) => ok(c, principalView(c.var.principal)))
    .get('/instance', async (c) => ok(c, instance.configuration(await instance.load())))
    .patch('/instance', validate('json', UpdateInstanceDtoSchema, 'instance update'), async (c) => ok(c, await instance.update(c.req.valid('json'), c.var.actor)))
    .post('/instance/regenerate-keys', async (c) => ok(c, await deps.regenerateKeys(c.var.actor)))
    .get('/admin-tokens', async (c) => ok(c, (await stores.adminTokens.list()).map(toAdminToken)))
    .delete('/admin-tokens/:id', async (c) =>
      ok(c, await revokeAdminToken({ store: stores.adminTokens, id: c.req.param('id'), actor: c.var.actor, now, generateId })),
    )
    .get('/audit', validate('query', AuditQuerySchema, 'query'), async (c) => ok(c, await stores.audit.list(auditListOf(c.req.valid('query')))))
    .get('/users', async (c) => ok(c, await people.listUsers()))
    .post('/users', validate('json', CreateUserDtoSchema, 'user'), async (c) => ok(c, await people.createUser(c.req.valid('json'), c.var.actor), 201))
    .get('/users/:id', async (c) => ok(c, await people.user(c.req.param('id'))))
    .post('/users/:id/tokens', validate('json', CreateUserTokenDtoSchema, 'token'), async (c) =>
      ok(c, await people.createUserToken(c.req.param('id'), c.req.valid('json'), c.var.actor), 201),
    )
    .get('/workspaces', async (c) => ok(c, await people.listWorkspaces()))
    .post('/workspaces', validate('json', CreateWorkspaceDtoSchema, 'workspace'), async (c) => ok(c, await people.createWorkspace(c.req.valid('json'), c.var.actor), 201))
    .get('/workspaces/:id', async (c) => ok(c, await people.workspace(c.req.param('id'))))
    .patch('/workspaces/:id', validate('json', UpdateWorkspaceDtoSchema, 'workspace update'), async (c) =>
      ok(c, await people.updateWorkspace(c.req.param('id'), c.req.valid('json'), c.var.actor)),
    )
    .get('/workspaces/:id/members', async (c) => {
      workspaceAccess(c.var.principal, c.req.param('id'), 'see');
      return ok(c, await people.members(c.req.param('id')));
    })
    .put('/workspaces/:id/members/:userId', validate('json', SetMembershipDtoSchema, 'membership'), async (c) => {
      workspaceAccess(c.var.principal, c.req.param('id'), 'manage');
      return ok(c, await people.setMember(c.req.param('id'), c.req.param('userId'), c.req.valid('json').role, c.var.actor));
    })
    .delete('/workspaces/:id/members/:userId', async (c) => {
      workspaceAccess(c.var.principal, c.req.param('id'), 'manage');
      await people.removeMember(c.req.param('id'), c.req.param('userId'), c.var.actor);
      return ok(c, null);
    })
    .route('/connections', connectionRoutes(deps.connections))
    .route('/a2a-clients', a2aClientRoutes(deps.a2aClients))
    .route('/a2a-agents', a2aAgentRoutes(deps.a2aAgents))
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
