import { AddA2AAgentDtoSchema, CreateA2AClientDtoSchema, UpdateA2AClientDtoSchema } from '@mosaic-fed/core';
import { Hono } from 'hono';
import type { A2AClients } from '../a2a/clients.js';
import type { A2ARemoteAgents } from '../a2a/remote-agents.js';
import type { AdminVariables } from '../middleware/admin-auth.js';
import { ok, validate } from './http.js';

/** The A2A client routes of the instance's own API (docs/protocol.md, "A2A"): admins only. */
export function a2aClientRoutes(clients: A2AClients) {
  return new Hono<{ Variables: AdminVariables }>()
    .get('/', async (c) => ok(c, await clients.list()))
    .post('/', validate('json', CreateA2AClientDtoSchema, 'A2A client'), async (c) => ok(c, await clients.create(c.req.valid('json'), c.var.actor), 201))
    .get('/:id', async (c) => ok(c, await clients.get(c.req.param('id'))))
    .patch('/:id', validate('json', UpdateA2AClientDtoSchema, 'A2A client update'), async (c) =>
      ok(c, await clients.update(c.req.param('id'), c.req.valid('json'), c.var.actor)),
    )
    .delete('/:id', async (c) => ok(c, await clients.revoke(c.req.param('id'), c.var.actor)));
}

/** The A2A agents elsewhere that this instance starts agents on: admins only. Spawning on one goes through `/agents`. */
export function a2aAgentRoutes(agents: A2ARemoteAgents) {
  return new Hono<{ Variables: AdminVariables }>()
    .get('/', async (c) => ok(c, await agents.list()))
    .post('/', validate('json', AddA2AAgentDtoSchema, 'A2A agent'), async (c) => ok(c, await agents.add(c.req.valid('json'), c.var.actor), 201))
    .delete('/:id', async (c) => {
      await agents.remove(c.req.param('id'), c.var.actor);
      return ok(c, null);
    });
}
