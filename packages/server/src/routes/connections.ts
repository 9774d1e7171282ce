import { ConnectionsQuerySchema, CreateConnectionDtoSchema, UpdateGrantsDtoSchema } from '@mosaic-fed/core';
import { Hono } from 'hono';
import { toConnection, type ConnectionService } from '../connections/service.js';
import type { AdminVariables } from '../middleware/admin-auth.js';
import { ok, validate } from './http.js';

/** PROTOCOL 6: the connection routes of the instance's own API. */
export function connectionRoutes(connections: ConnectionService) {
  const actions = { accept: 'accept', reject: 'reject', disconnect: 'disconnect', suspend: 'suspend', resume: 'resume' } as const;
  return new Hono<{ Variables: AdminVariables }>()
    .get('/', validate('query', ConnectionsQuerySchema, 'query'), async (c) => ok(c, await connections.list(c.req.valid('query').status)))
    .post('/', validate('json', CreateConnectionDtoSchema, 'connection request'), async (c) =>
      ok(c, await connections.connect(c.req.valid('json').url, c.var.actor), 201),
    )
    .get('/:id', async (c) => ok(c, toConnection(await connections.get(c.req.param('id')))))
    .patch('/:id', validate('json', UpdateGrantsDtoSchema, 'grants'), async (c) =>
      ok(c, await connections.updateGrants(c.req.param('id'), c.req.valid('json'), c.var.actor)),
    )
    .post('/:id/:action{accept|reject|disconnect|suspend|resume}', async (c) => {
      const action = actions[c.req.param('action') as keyof typeof actions];
      return ok(c, await connections[action](c.req.param('id'), c.var.actor));
    });
}
