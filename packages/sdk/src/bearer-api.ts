// The client side of the JSON APIs with a bearer token: an instance's own API (PROTOCOL 6)
// and the orchestrator service (PROTOCOL 7). Both answer in the same envelope and stream
// agent status events the same way, so AdminClient and the orchestrator's
// HttpOrchestrator share this.
import { AgentStatusChangedPayloadSchema, backoffMs, FederationError, isTerminalState, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { z } from 'zod';
import { retryAfterOf } from './lib/parse.js';
import { sleep } from './lib/sleep.js';
import { readServerSentEvents } from './sse.js';
import { traceHeaders } from './tracing.js';

/** Where and how to call: the base URL (ending in `/`), the bearer token and the transport. */
export interface BearerApiOptions {
  baseUrl: URL;
  token: string;
  fetch: typeof fetch;
  /** Per-call timeout in milliseconds (not for event streams). */
  timeoutMs: number;
  /** The error for a server that cannot be reached (the cause is the network error). */
  unreachable: (cause: unknown) => FederationError;
}

const EnvelopeSchema = z.object({ success: z.literal(true), data: z.unknown() });

/**
 * Calls `method path` and returns the `data` of the success envelope. Throws a
 * `FederationError`: the server's own code for an error envelope (with `details`, `data`
 * and `retryAfter`), `MALFORMED_MESSAGE` for an answer outside the envelope, or the
 * `unreachable` error.
 */
export async function requestBearerApi(
  options: BearerApiOptions,
  method: string,
  path: string,
  body?: unknown,
  extra: { headers?: Record<string, string>; signal?: AbortSignal | undefined } = {},
): Promise<unknown> {
  const response = await sendBearerRequest(options, method, path, body, { ...extra, accept: 'application/json' });
  const envelope = EnvelopeSchema.safeParse(await response.json().catch(() => undefined));
  if (!envelope.success) throw new FederationError('MALFORMED_MESSAGE', `the answer to ${method} ${path} is not a protocol envelope`);
  return envelope.data.data;
}

/**
 * `GET path` for a file (an agent's bundle, say): its bytes and headers. Fails as
 * {@link requestBearerApi} does.
 */
export async function downloadBearerApi(options: BearerApiOptions, path: string): Promise<{ data: Uint8Array<ArrayBuffer>; headers: Headers }> {
  const response = await sendBearerRequest(options, 'GET', path, undefined, { accept: '*/*' });
  try {
    return { data: new Uint8Array(await response.arrayBuffer()), headers: response.headers };
  } catch (error) {
    throw options.unreachable(error);
  }
}

/** Sends the request; answers a 2xx response, and throws the error any other one carries. */
async function sendBearerRequest(
  options: BearerApiOptions,
  method: string,
  path: string,
  body: unknown,
  extra: { headers?: Record<string, string>; signal?: AbortSignal | undefined; accept: string },
): Promise<Response> {
  let response: Response;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    response = await options.fetch(new URL(path, options.baseUrl), {
      method,
      headers: {
        Authorization: `Bearer ${options.token}`,
        Accept: extra.accept,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...traceHeaders(),
        ...extra.headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: extra.signal === undefined ? timeout : AbortSignal.any([timeout, extra.signal]),
    });
  } catch (error) {
    throw options.unreachable(error);
  }
  if (!response.ok) throw await errorOfResponse(response);
  return response;
}

/** Options for {@link readAgentEvents}. */
export interface AgentEventStreamOptions extends BearerApiOptions {
  /** The event stream's path, relative to the base URL. */
  path: string;
  /** Resume after this sequence. */
  lastEventId?: number | undefined;
  signal?: AbortSignal | undefined;
  /** First wait before reopening a dropped stream, doubled per failure up to 30 s (or what the server asks). */
  reconnectDelayMs: number;
  /** Failures in a row, without an event between them, before giving up. */
  maxReconnects: number;
}

/**
 * Yields an agent's status events in `sequence` order and ends after a terminal one. A
 * dropped stream is reopened with `Last-Event-ID`, so nothing is lost or repeated; a
 * `204` (nothing will follow) ends it quietly, and so does the signal.
 */
export async function* readAgentEvents(options: AgentEventStreamOptions): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
  let after = options.lastEventId;
  let delayMs = options.reconnectDelayMs;
  let failures = 0;
  const aborted = () => options.signal?.aborted === true;
  const retryOrThrow = async (error: FederationError) => {
    if (++failures > options.maxReconnects) throw error;
    await sleep(backoffMs(failures, { initialMs: delayMs, maxMs: 30_000 }), options.signal).catch(() => undefined);
  };
  while (!aborted()) {
    let response: Response;
    try {
      response = await options.fetch(new URL(options.path, options.baseUrl), {
        headers: {
          Authorization: `Bearer ${options.token}`,
          Accept: 'text/event-stream',
          ...traceHeaders(),
          ...(after === undefined ? {} : { 'Last-Event-ID': String(after) }),
        },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      if (aborted()) return;
      await retryOrThrow(options.unreachable(error));
      continue;
    }
    if (response.status === 204) return;
    if (!response.ok || response.body === null) throw await errorOfResponse(response);
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await response.body.cancel();
      throw new FederationError('MALFORMED_MESSAGE', 'the answer is not an event stream');
    }
    try {
      for await (const message of readServerSentEvents(response.body)) {
        if (message.retry !== undefined) delayMs = message.retry;
        if (message.event !== 'agent.status.changed') continue;
        const event = AgentStatusChangedPayloadSchema.safeParse(parseJson(message.data));
        if (!event.success) throw new FederationError('MALFORMED_MESSAGE', 'an event is not an agent status');
        if (after !== undefined && event.data.sequence <= after) continue;
        after = event.data.sequence;
        failures = 0;
        yield event.data;
        if (isTerminalState(event.data.status)) return;
      }
    } catch (error) {
      if (aborted()) return;
      // A stream cut mid-way is reopened below; an answer that breaks the protocol is not.
      if (error instanceof FederationError) throw error;
    }
    if (aborted()) return;
    await retryOrThrow(options.unreachable(new Error('the event stream kept ending before the agent did')));
  }
}

/** The protocol error of a failed response, with `Retry-After` when the server sent one. */
export async function errorOfResponse(response: Response): Promise<FederationError> {
  return FederationError.fromWire(await response.json().catch(() => undefined), response.status, { retryAfter: retryAfterOf(response) });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
