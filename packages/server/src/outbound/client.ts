// PROTOCOL 3, "Outbound requests": the one client for every request this instance makes
// (connects, document and rotation fetches, connection messages, event delivery, OIDC
// discovery). It checks the URL against the policy, follows no redirects, caps the time
// and the size of the answer, and turns every refusal and every failure into one
// uniform error, so that its answers cannot be used to scan a network. The reason goes
// to this instance's log only.
import { FederationError } from '@mosaic-fed/core';
import { describeError, type Logger } from '../logger.js';
import { OutboundRefusal, type OutboundPolicy } from './policy.js';

/** The message of every outbound failure, whatever its cause (PROTOCOL 3). */
export const UNREACHABLE_MESSAGE = 'the peer could not be reached';

/** Options for {@link createOutboundFetch}. */
export interface OutboundFetchOptions {
  policy: OutboundPolicy;
  /**
   * How requests leave: the platform's `fetch` by default. On Node, use one that resolves
   * names itself and connects only to addresses the policy allows
   * (`createResolvingFetch` from `@mosaic-fed/node`).
   */
  transport?: typeof fetch | undefined;
  /** Per-request limit on the whole exchange, answer included, in milliseconds. Default 15,000. */
  timeoutMs?: number | undefined;
  /** Largest answer read, in bytes. Default 1 MiB. */
  maxResponseBytes?: number | undefined;
  logger: Logger;
}

/** The uniform error, with the real reason as its cause (never sent anywhere). */
export function unreachable(cause?: unknown): FederationError {
  return new FederationError('PEER_UNAVAILABLE', UNREACHABLE_MESSAGE, cause === undefined ? {} : { cause });
}

/** A body that errors as soon as it passes `maxBytes`. */
function capped(body: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  let read = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > maxBytes) controller.error(new OutboundRefusal(`the answer is over ${maxBytes} bytes`));
        else controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * A `fetch` under the outbound policy. It throws only `PEER_UNAVAILABLE` with
 * {@link UNREACHABLE_MESSAGE}; the answer it returns is never a redirect, and its body
 * errors past the size cap.
 *
 * @example
 * ```ts
 * const outbound = createOutboundFetch({ policy: new OutboundPolicy(), logger });
 * const response = await outbound('https://spoke.example.com/.well-known/mosaic-federation');
 * ```
 */
export function createOutboundFetch(options: OutboundFetchOptions): typeof fetch {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBytes = options.maxResponseBytes ?? 1024 * 1024;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new TypeError('outbound timeoutMs must be a positive whole number');
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new TypeError('outbound maxResponseBytes must be a positive whole number');
  const transport = options.transport ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  const refuse = (target: string, cause: unknown): never => {
    options.logger.warn('an outbound request was refused or failed', { target, ...describeError(cause) });
    throw unreachable(cause);
  };

  return async (input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    let url: URL;
    try {
      url = options.policy.checkUrl(target);
    } catch (error) {
      return refuse(target, error);
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
    let response: Response;
    try {
      response = await transport(input instanceof Request ? input : url, { ...init, redirect: 'manual', signal });
    } catch (error) {
      return refuse(url.origin, error);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      return refuse(url.origin, new OutboundRefusal(`answered with a redirect (HTTP ${response.status})`));
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      return refuse(url.origin, new OutboundRefusal(`the answer declares ${declared} bytes, over ${maxBytes}`));
    }
    if (response.body === null) return response;
    return new Response(capped(response.body, maxBytes), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
