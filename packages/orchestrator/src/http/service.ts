// The orchestrator as its own service (PROTOCOL 7): the same payloads and status objects
// as section 5, behind a shared bearer token, in the `{ success, data }` envelope of
// section 6. A Hono app, so it runs wherever the orchestrator it wraps can.
import {
  ApprovalAnswerSchema,
  describeError,
  ERROR_STATUS,
  FederationError,
  isFederationError,
  LIMITS,
  OrchestratorSpawnRequestSchema,
  parseOrThrow,
  silentLogger,
  type Logger,
  type OrchestratorAdapter,
} from '@mosaic-fed/core';
import { endHttpSpan, inSpan, SpanKind, traceContextOf } from '@mosaic-fed/sdk/tracing';
import { Hono, type Context } from 'hono';
import { routePath } from 'hono/route';
import { createMiddleware } from 'hono/factory';
import { streamSSE } from 'hono/streaming';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';

export interface OrchestratorServiceOptions {
  orchestrator: OrchestratorAdapter;
  /** The shared bearer token servers present (at least 32 characters). */
  token: string;
  logger?: Logger;
}

/** `GET /agents/:agentId/transcript`'s query: entries after the index `after`, at most `limit`. */
const TranscriptQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).max(999_999_999),
  limit: z.coerce.number().int().min(1).max(LIMITS.listLimitMax),
});

/** `GET /agents/:agentId/bundle`'s query: a chunk from `offset`, at most `length` bytes. */
const BundleQuerySchema = z.strictObject({
  offset: z.coerce.number().int().min(0).max(LIMITS.bundleMaxBytes),
  length: z.coerce.number().int().min(1).max(LIMITS.bundleChunkBytes).optional(),
});

/** The sequence a reconnecting client saw last; anything unreadable means "from the start". */
const lastEventIdOf = (value: string | undefined) => {
  const parsed = Number(value ?? 0);
  return Number.isInteger(parsed) && parsed >= 0 ? parsed : 0;
};

/**
 * The orchestrator service's routes: `POST /agents/spawn`, `GET /agents/:agentId/status`,
 * `POST /agents/:agentId/kill`, `POST /agents/:agentId/respond` (an approval's answer), `GET /agents/:agentId/transcript?after=&limit=`,
 * `GET /agents/:agentId/bundle?offset=&length=` and `GET /agents/:agentId/events` (SSE, resumable with `Last-Event-ID`).
 *
 * @example
 * ```ts
 * serve({ fetch: createOrchestratorService({ orchestrator, token }).fetch, port: 4848 });
 * ```
 */
export function createOrchestratorService(options: OrchestratorServiceOptions): Hono {
  if (typeof options.token !== 'string' || options.token.length < 32) {
    throw new TypeError('createOrchestratorService: the token must have at least 32 characters');
  }
  const { orchestrator } = options;
  const logger = options.logger ?? silentLogger;
  const auth = createMiddleware(async (c, next) => {
    const presented = /^Bearer (\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!(await timingSafeEqual(presented, options.token))) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new FederationError('UNAUTHORIZED', 'the orchestrator token is missing or wrong');
    }
    await next();
  });
  const ok = (c: Context, data: unknown, status: 200 | 201 = 200) => c.json({ success: true, data }, status);

  return new Hono()
    // Each request continues its caller's trace, so a spawn's run joins the server's.
    .use((c, next) =>
      inSpan(c.req.method, { kind: SpanKind.SERVER, parent: traceContextOf(c.req.raw.headers) }, async (span) => {
        await next();
        endHttpSpan(span, c.req.method, routePath(c), c.res.status);
      }),
    )
    .use(auth)
    .post('/agents/spawn', async (c) => {
      const body: unknown = await c.req.json().catch(() => undefined);
      return ok(c, await orchestrator.spawn(parseOrThrow(OrchestratorSpawnRequestSchema, body, 'spawn request')), 201);
    })
    .get('/agents/:agentId/status', async (c) => ok(c, await orchestrator.getStatus(c.req.param('agentId'))))
    .post('/agents/:agentId/kill', async (c) => ok(c, await orchestrator.kill(c.req.param('agentId'))))
    .post('/agents/:agentId/respond', async (c) => {
      const body: unknown = await c.req.json().catch(() => undefined);
      return ok(c, await orchestrator.respond(c.req.param('agentId'), parseOrThrow(ApprovalAnswerSchema, body, 'answer')));
    })
    .get('/agents/:agentId/transcript', async (c) => {
      const page = parseOrThrow(TranscriptQuerySchema, c.req.query(), 'transcript query');
      return ok(c, await orchestrator.transcript(c.req.param('agentId'), page));
    })
    .get('/agents/:agentId/bundle', async (c) => {
      const range = parseOrThrow(BundleQuerySchema, c.req.query(), 'bundle query');
      return ok(c, await orchestrator.bundle(c.req.param('agentId'), range));
    })
    .get('/agents/:agentId/events', async (c) => {
      const agentId = c.req.param('agentId');
      await orchestrator.getStatus(agentId); // NOT_FOUND before the stream opens
      const afterSequence = lastEventIdOf(c.req.header('last-event-id'));
      c.header('Cache-Control', 'no-store');
      return streamSSE(c, async (stream) => {
        const controller = new AbortController();
        stream.onAbort(() => controller.abort());
        for await (const event of orchestrator.watch(agentId, { afterSequence, signal: controller.signal })) {
          await stream.writeSSE({ id: String(event.sequence), event: 'agent.status.changed', data: JSON.stringify(event) });
        }
      });
    })
    .notFound(() => {
      throw new FederationError('NOT_FOUND', 'there is nothing at this address');
    })
    .onError((error, c) => {
      const known = isFederationError(error) ? error : undefined;
      if (known === undefined) logger.error('the orchestrator service failed a request', describeError(error));
      const wire = known ?? new FederationError('INTERNAL', 'something went wrong in the orchestrator; the details are in its log');
      return c.json(wire.toWire(), ERROR_STATUS[wire.code] as ContentfulStatusCode);
    });
}
