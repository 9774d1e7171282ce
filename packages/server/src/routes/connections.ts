import {
  ConnectionsQuerySchema,
  CreateConnectionDtoSchema,
  parseOrThrow,
  UpdateGrantsDtoSchema,
} from '@mosaic-fed/core';
import { Hono } from 'hono';
import { toConnection, type ConnectionService } from '../connections/service.js';
import type { AdminVariables } from '../middleware/admin-auth.js';
import { ok, readJson } from './http.js';

/** PROTOCOL 6: the connection routes of the instance's own API. */
export function connectionRoutes(connections: ConnectionService) {
  const actions = { accept: 'accept', reject: 'reject', disconnect: 'disconnect', suspend: 'suspend', resume: 'resume' } as const;
  return new Hono<{ Variables: AdminVariables }>()
    .get('/', async (c) => {
      const { status } = parseOrThrow(ConnectionsQuerySchema, c.req.query(), 'query');
      return ok(c, await connections.list(status));
    })
    .post('/', async (c) => {
      const { url } = parseOrThrow(CreateConnectionDtoSchema, await readJson(c), 'connection request');
      return ok(c, await connections.connect(url, c.var.actor), 201);
    })
    .get('/:id', async (c) => ok(c, toConnection(await connections.get(c.req.param('id')))))
    .patch('/:id', async (c) => {
      const dto = parseOrThrow(UpdateGrantsDtoSchema, await readJson(c), 'grants');
      return ok(c, await connections.updateGrants(c.req.param('id'), dto, c.var.actor));
    })
    .post('/:id/:action{accept|reject|disconnect|suspend|resume}', async (c) => {
      const action = actions[c.req.param('action') as keyof typeof actions];
      return ok(c, await connections[action](c.req.param('id'), c.var.actor));
    });
}
