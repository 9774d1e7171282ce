// The git credentials of a Node instance (issue: secrets stay on the host), through its
// own API: `GET /api/v1/federation/git-credentials` lists hosts and user names, never a
// password; `PUT .../:host` sets one, `DELETE .../:host` removes it. Each change is
// audit-logged without the secret. The file lives in the data directory, which no
// sandbox mounts; the host-side clone reads it.
import { FederationError, GitCredentialDtoSchema, GitCredentialHostSchema } from '@mosaic-fed/core';
import type { GitCredentialFile } from '@mosaic-fed/orchestrator/node';
import { Hono } from 'hono';
import { ok, validate, type AdminVariables, type AuditStore } from '@mosaic-fed/server';
import { z } from 'zod';

/** A host in the path, in any case. */
const HostParamSchema = z.object({ host: z.string().toLowerCase().pipe(GitCredentialHostSchema) });

export function gitCredentialRoutes(deps: { file: GitCredentialFile; audit: AuditStore; now: () => Date; generateId: () => string }) {
  const { file, audit, now, generateId } = deps;
  const record = (action: string, host: string, actor: AdminVariables['actor'], before: { username: string } | null, after: { username: string } | null) =>
    audit.append({ id: generateId(), at: now().toISOString(), actor, action, target: `git-credential:${host}`, before, after });
  return new Hono<{ Variables: AdminVariables }>()
    .get('/', async (c) => ok(c, await file.list()))
    .put('/:host', validate('param', HostParamSchema, 'host'), validate('json', GitCredentialDtoSchema, 'git credential'), async (c) => {
      const { host } = c.req.valid('param');
      const { stored, replaced } = await file.set(host, c.req.valid('json'), now());
      await record('git-credential.set', host, c.var.actor, replaced === undefined ? null : { username: replaced.username }, { username: stored.username });
      return ok(c, stored);
    })
    .delete('/:host', validate('param', HostParamSchema, 'host'), async (c) => {
      const { host } = c.req.valid('param');
      const removed = await file.remove(host);
      if (removed === undefined) throw new FederationError('NOT_FOUND', 'there is no credential for that host');
      await record('git-credential.delete', host, c.var.actor, { username: removed.username }, null);
      return ok(c, { host, removed: true });
    });
}
