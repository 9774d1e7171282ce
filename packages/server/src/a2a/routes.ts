// The A2A 1.0 bindings (docs/protocol.md, "A2A"): the Agent Card and its keys, JSON-RPC at
// /a2a/jsonrpc and HTTP+JSON at /a2a/rest, over one A2AService. Each request names its
// client with a bearer token; every body and parameter is checked with zod before use.
import { assertJsonDepth, FederationError, type A2AClient } from '@mosaic-fed/core';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { describeError, type Logger } from '../logger.js';
import { A2A_PATHS, type AgentCardSigner } from './card.js';
import type { A2AClients } from './clients.js';
import { A2AError, wireErrorOf, type WireError } from './errors.js';
import type { A2AService, TaskStreamEvent } from './service.js';
import {
  A2A_VERSION,
  CreatePushConfigRequestSchema,
  ListPushConfigsRequestSchema,
  ListTasksRequestSchema,
  PushConfigRefSchema,
  SendMessageRequestSchema,
  TaskRefRequestSchema,
  type SendMessageRequest,
  type Task,
} from './wire.js';

export interface A2ARoutesOptions {
  service: A2AService;
  clients: A2AClients;
  card: AgentCardSigner;
  logger: Logger;
  /** A clock that never goes back, in milliseconds, for the streams' keep-alives. */
  monotonic: () => number;
}

/** How often an idle stream sends a comment, so proxies keep it open. */
const KEEPALIVE_MS = 15_000;

const JsonRpcRequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string().max(128), z.number().int(), z.null()]).optional(),
  method: z.string().max(100),
  params: z.record(z.string(), z.unknown()).optional(),
});
type JsonRpcId = string | number | null;

/** Opens a task's event stream, watching until the signal aborts. */
type Opener = (signal: AbortSignal) => AsyncGenerator<TaskStreamEvent>;

/** `Last-Event-ID`: the sequence of the last event a resumed stream saw. */
const LastEventIdSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The params as `schema` reads them; `INVALID_PARAMS` naming what is wrong otherwise. */
function paramsOf<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  throw new A2AError('INVALID_PARAMS', issue === undefined ? 'invalid params' : `${issue.path.join('.') || 'params'}: ${issue.message}`);
}

export function a2aRoutes(o: A2ARoutesOptions) {
  const { service, clients } = o;

  /** The client, after the version check; `UNAUTHORIZED` without a valid token. */
  const clientOf = async (c: Context): Promise<A2AClient> => {
    const version = c.req.header('A2A-Version');
    // Absent: taken as this version (A2A says 0.3; no 0.3 client sends 1.0's methods).
    if (version !== undefined && version !== '' && version !== A2A_VERSION && version !== '1') {
      throw new A2AError('VERSION_NOT_SUPPORTED', `this instance speaks A2A ${A2A_VERSION}, not ${version}`);
    }
    return clients.authenticate(c.req.header('Authorization'));
  };

  const lastEventId = (c: Context): number | undefined => {
    const header = c.req.header('Last-Event-ID');
    if (header === undefined || header === '') return undefined;
    const parsed = LastEventIdSchema.safeParse(header);
    if (!parsed.success) throw new A2AError('INVALID_PARAMS', 'Last-Event-ID must be the id of an event of this stream');
    return parsed.data;
  };

  /** An error as the binding answers it; logged when it is not the caller's doing. */
  const wireOf = (error: unknown): WireError => {
    const wire = wireErrorOf(error);
    if (wire.http >= 500 && !(error instanceof FederationError)) o.logger.error('an A2A request failed unexpectedly', describeError(error));
    return wire;
  };

  const errorHeaders = (c: Context, wire: WireError) => {
    if (wire.retryAfter !== undefined) c.header('Retry-After', String(wire.retryAfter));
    if (wire.http === 401) c.header('WWW-Authenticate', 'Bearer');
  };

  /** A blocking or immediate `SendMessage`: the task once it is worth answering with. */
  const sendMessage = async (c: Context, client: A2AClient, request: SendMessageRequest): Promise<{ task: Task }> => {
    const { agentId, answered } = await service.send(client, request);
    if (request.configuration?.returnImmediately === true) return { task: await service.get(client, agentId) };
    return { task: await service.settle(client, agentId, answered, c.req.raw.signal) };
  };

  /** A task's stream as SSE, each event written by `format`; ends with the task, or with an error event. */
  const sse = (c: Context, open: Opener, format: { event: (e: TaskStreamEvent['event']) => string; error: (wire: WireError) => { event?: string; data: string } }) =>
    streamSSE(c, async (stream) => {
      // The stream's watch ends when the client goes, whichever side notices first.
      const controller = new AbortController();
      stream.onAbort(() => controller.abort());
      c.req.raw.signal.addEventListener('abort', () => controller.abort(), { once: true });
      const events = open(controller.signal);
      let lastWrite = o.monotonic();
      const keepAlive = setInterval(() => {
        if (o.monotonic() - lastWrite < KEEPALIVE_MS) return;
        lastWrite = o.monotonic();
        void stream.write(': keep-alive\n\n').catch(() => undefined);
      }, KEEPALIVE_MS);
      try {
        for await (const { id, event } of events) {
          await stream.writeSSE({ ...(id === undefined ? {} : { id }), data: format.event(event) });
          lastWrite = o.monotonic();
        }
      } catch (error) {
        if (!stream.aborted) await stream.writeSSE(format.error(wireOf(error)));
      } finally {
        clearInterval(keepAlive);
        controller.abort();
      }
    });

  /** A task's stream, opened once the response is: it watches until `signal` aborts. */
  const streamOf = (client: A2AClient, agentId: string, after: number | undefined): Opener => (signal) => service.stream(client, agentId, after, signal);

  const app = new Hono();

  app.get(A2A_PATHS.card, async (c) => {
    c.header('Cache-Control', 'public, max-age=60');
    return c.json(await o.card.card());
  });
  app.get(A2A_PATHS.keys, async (c) => {
    c.header('Cache-Control', 'public, max-age=60');
    return c.json(await o.card.keys());
  });

  // JSON-RPC 2.0: errors are answers (HTTP 200) but for a missing or invalid token (401).
  app.post(A2A_PATHS.jsonRpc, async (c) => {
    let id: JsonRpcId = null;
    const fail = (error: unknown) => {
      const wire = wireOf(error);
      errorHeaders(c, wire);
      return c.json(
        { jsonrpc: '2.0', id, error: { code: wire.code, message: wire.message, ...(wire.details.length === 0 ? {} : { data: wire.details }) } },
        wire.http === 401 ? 401 : 200,
      );
    };
    try {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new A2AError('PARSE_ERROR', 'the body is not JSON');
      }
      assertJsonDepth(body, 'request');
      const request = JsonRpcRequestSchema.safeParse(body);
      if (!request.success) throw new A2AError('INVALID_REQUEST', 'not a JSON-RPC 2.0 request');
      id = request.data.id ?? null;
      const { method, params } = request.data;
      const client = await clientOf(c);
      const result = (value: unknown) => c.json({ jsonrpc: '2.0', id, result: value });
      const rpcStream = (open: Opener) =>
        sse(c, open, {
          event: (event) => JSON.stringify({ jsonrpc: '2.0', id, result: event }),
          error: (wire) => ({ data: JSON.stringify({ jsonrpc: '2.0', id, error: { code: wire.code, message: wire.message, data: wire.details } }) }),
        });
      switch (method) {
        case 'SendMessage':
          return result(await sendMessage(c, client, paramsOf(SendMessageRequestSchema, params)));
        case 'SendStreamingMessage': {
          const { agentId } = await service.send(client, paramsOf(SendMessageRequestSchema, params));
          return rpcStream(streamOf(client, agentId, undefined));
        }
        case 'GetTask':
          return result(await service.get(client, paramsOf(TaskRefRequestSchema, params).id));
        case 'CancelTask':
          return result(await service.cancel(client, paramsOf(TaskRefRequestSchema, params).id));
        case 'ListTasks':
          return result(await service.list(client, paramsOf(ListTasksRequestSchema, params)));
        case 'SubscribeToTask': {
          const taskId = paramsOf(TaskRefRequestSchema, params).id;
          const after = lastEventId(c);
          await service.subscribable(client, taskId, after);
          return rpcStream(streamOf(client, taskId, after));
        }
        case 'CreateTaskPushNotificationConfig': {
          const { taskId, tenant: _tenant, ...config } = paramsOf(CreatePushConfigRequestSchema, params);
          return result(await service.createPushConfig(client, taskId, config));
        }
        case 'GetTaskPushNotificationConfig': {
          const { taskId, id: configId } = paramsOf(PushConfigRefSchema, params);
          return result(await service.pushConfig(client, taskId, configId));
        }
        case 'ListTaskPushNotificationConfigs':
          return result(await service.pushConfigs(client, paramsOf(ListPushConfigsRequestSchema, params).taskId));
        case 'DeleteTaskPushNotificationConfig': {
          const { taskId, id: configId } = paramsOf(PushConfigRefSchema, params);
          await service.deletePushConfig(client, taskId, configId);
          return result({});
        }
        case 'GetExtendedAgentCard':
          throw new A2AError('UNSUPPORTED_OPERATION', 'this instance has no extended agent card: the public one says everything');
        default:
          throw new A2AError('METHOD_NOT_FOUND', `there is no method ${method}`);
      }
    } catch (error) {
      return fail(error);
    }
  });

  // HTTP+JSON: `/message:send`, `/tasks/{id}:cancel` and the like (the colon is part of the
  // path, so the routes are matched here rather than by the router's `:param` syntax).
  app.on(['GET', 'POST', 'DELETE'], `${A2A_PATHS.rest}/*`, async (c) => {
    const path = c.req.path.slice(A2A_PATHS.rest.length);
    const method = c.req.method;
    try {
      const client = await clientOf(c);
      const body = async (): Promise<unknown> => {
        let parsed: unknown;
        try {
          const text = await c.req.text();
          parsed = text === '' ? {} : JSON.parse(text);
        } catch {
          throw new A2AError('INVALID_PARAMS', 'the body is not JSON');
        }
        assertJsonDepth(parsed, 'request');
        return parsed;
      };
      const bodyObject = async (): Promise<Record<string, unknown>> => {
        const parsed = await body();
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new A2AError('INVALID_PARAMS', 'the body is not a JSON object');
        return parsed as Record<string, unknown>;
      };
      const restStream = (open: Opener) =>
        sse(c, open, {
          event: (event) => JSON.stringify(event),
          error: (wire) => ({ event: 'error', data: JSON.stringify(restError(wire)) }),
        });
      const task = /^\/tasks\/([^/:]+)(?::(cancel|subscribe))?$/.exec(path);
      if (method === 'POST' && path === '/message:send') return c.json(await sendMessage(c, client, paramsOf(SendMessageRequestSchema, await body())));
      if (method === 'POST' && path === '/message:stream') {
        const { agentId } = await service.send(client, paramsOf(SendMessageRequestSchema, await body()));
        return restStream(streamOf(client, agentId, undefined));
      }
      if (method === 'GET' && path === '/tasks') return c.json(await service.list(client, paramsOf(ListTasksRequestSchema, c.req.query())));
      if (task !== null) {
        const taskId = decodeURIComponent(task[1] ?? '');
        if (method === 'GET' && task[2] === undefined) return c.json(await service.get(client, paramsOf(TaskRefRequestSchema, { ...c.req.query(), id: taskId }).id));
        if (method === 'POST' && task[2] === 'cancel') return c.json(await service.cancel(client, taskId));
        if ((method === 'POST' || method === 'GET') && task[2] === 'subscribe') {
          const after = lastEventId(c);
          await service.subscribable(client, taskId, after);
          return restStream(streamOf(client, taskId, after));
        }
      }
      const configs = /^\/tasks\/([^/:]+)\/pushNotificationConfigs(?:\/([^/]+))?$/.exec(path);
      if (configs !== null) {
        const taskId = decodeURIComponent(configs[1] ?? '');
        const configId = configs[2] === undefined ? undefined : decodeURIComponent(configs[2]);
        if (method === 'POST' && configId === undefined) {
          const { taskId: _taskId, tenant: _tenant, ...config } = paramsOf(CreatePushConfigRequestSchema, { ...(await bodyObject()), taskId });
          return c.json(await service.createPushConfig(client, taskId, config));
        }
        if (method === 'GET' && configId === undefined) return c.json(await service.pushConfigs(client, taskId));
        if (method === 'GET' && configId !== undefined) return c.json(await service.pushConfig(client, taskId, configId));
        if (method === 'DELETE' && configId !== undefined) {
          await service.deletePushConfig(client, taskId, configId);
          return c.body(null, 204);
        }
      }
      if (path === '/extendedAgentCard') throw new A2AError('UNSUPPORTED_OPERATION', 'this instance has no extended agent card: the public one says everything');
      throw new A2AError('METHOD_NOT_FOUND', `there is no ${method} ${path}`);
    } catch (error) {
      const wire = wireOf(error);
      errorHeaders(c, wire);
      return c.json(restError(wire), wire.http as ContentfulStatusCode);
    }
  });

  return app;
}

/** An error as HTTP+JSON answers it: a google.rpc.Status. */
function restError(wire: WireError) {
  return { error: { code: wire.http, status: wire.status, message: wire.message, details: wire.details } };
}
