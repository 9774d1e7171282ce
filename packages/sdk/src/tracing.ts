/**
 * @mosaic-fed/sdk/tracing: traces (OpenTelemetry) for the packages and for apps, over
 * `@opentelemetry/api` alone: every call here is a no-op until a tracer provider, a
 * context manager and the W3C propagator are registered (the Node entry's `startTracing`,
 * or the app's own), so edge runtimes pay nothing. The SDK's clients send the active
 * trace with every request (W3C `traceparent`), so an app's trace goes on in the instance.
 *
 * @packageDocumentation
 */
// A span's error says what kind of failure it was (a protocol code, or the error's
// name), never its message: traces leave the instance, and messages may name hosts and paths.
import { context, propagation, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanKind, type TextMapGetter } from '@opentelemetry/api';
import { isFederationError } from '@mosaic-fed/core';

export { SpanKind } from '@opentelemetry/api';
export type { Attributes as SpanAttributes, Context as TraceContext, Span } from '@opentelemetry/api';

/** The instrumentation scope of this project's spans. */
export const TRACER_NAME = '@mosaic-fed';

/** Options of {@link inSpan}. */
export interface InSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The context the span continues; default the active one. */
  parent?: Context;
}

/**
 * Runs `work` inside a new span, active for everything it awaits: ended when `work`
 * settles, with an error status (its code or name) when it throws.
 *
 * @example
 * ```ts
 * await inSpan('agent.run', { attributes: { 'mosaic_fed.agent.id': agentId } }, () => run(agentId));
 * ```
 */
export function inSpan<T>(name: string, options: InSpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const spanOptions = { ...(options.kind === undefined ? {} : { kind: options.kind }), ...(options.attributes === undefined ? {} : { attributes: options.attributes }) };
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, spanOptions, options.parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Gives a span the error status a failure deserves: its protocol code, or its name. */
function markFailed(span: Span, error: unknown): void {
  const kind = isFederationError(error) ? error.code : error instanceof Error ? error.name : 'Error';
  span.setAttribute('error.type', kind);
  span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
}

/** The W3C `traceparent` of the active span, for work that goes on later or in another process; `undefined` when nothing is traced. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The headers that carry the active trace to another service (W3C trace context); none when nothing is traced. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Names a server span by its route and gives it the response's status: a 5xx is an error. */
export function endHttpSpan(span: Span, method: string, route: string, status: number): void {
  span.updateName(`${method} ${route}`);
  span.setAttributes({ 'http.request.method': method, 'http.route': route, 'http.response.status_code': status });
  if (status >= 500) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(status) });
  }
}

const HEADERS: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** The context of a request's trace headers (or of a stored `traceparent`), on top of the active one. */
export function traceContextOf(source: Headers | string | undefined): Context {
  if (source === undefined) return context.active();
  if (typeof source === 'string') return propagation.extract(context.active(), { traceparent: source });
  return propagation.extract(context.active(), source, HEADERS);
}
