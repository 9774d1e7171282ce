// Traces for the Node entry: registers OpenTelemetry's tracer provider, the async context
// that carries a span through awaits, and the W3C trace-context propagator, so the spans
// the packages make (no-ops until now) reach an exporter: OTLP over HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set, or the caller's own.
// The SDK's packages are loaded when tracing starts: a CLI command without tracing (most
// of them) does not pay for them.
import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/** Whether this module registered tracing (OpenTelemetry's globals are one per process). */
let registered = false;

export interface TracingOptions {
  /** Where spans go. */
  exporter: SpanExporter;
  /** `service.name` of every span. Default `mosaic-fed`. */
  serviceName?: string;
  /** Export each span as it ends, rather than in batches (for tests). Default false. */
  immediate?: boolean;
}

/** Tracing as registered: flush what is buffered, or stop and unregister. */
export interface Tracing {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Registers tracing for this process. One at a time: a second call while one is
 * registered rejects with a `TypeError`.
 *
 * @example
 * ```ts
 * const tracing = await startTracing({ exporter: new OTLPTraceExporter({ url: 'http://collector:4318/v1/traces' }) });
 * ```
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  if (registered) throw new TypeError('startTracing: tracing is registered already in this process');
  registered = true;
  const [{ AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { resourceFromAttributes }, { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider }] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
  ]);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'mosaic-fed' }),
    spanProcessors: [options.immediate === true ? new SimpleSpanProcessor({ exporter: options.exporter }) : new BatchSpanProcessor({ exporter: options.exporter })],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
      registered = false;
    },
  };
}

/**
 * Tracing as OpenTelemetry's environment asks: OTLP over HTTP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (the
 * exporter reads those, with `OTEL_EXPORTER_OTLP_HEADERS`), unless `OTEL_TRACES_EXPORTER`
 * is `none`; `OTEL_SERVICE_NAME` names the service. `undefined`: no tracing.
 */
export async function tracingFromEnv(env: Record<string, string | undefined>): Promise<Tracing | undefined> {
  if (env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  // OpenTelemetry's rule: the traces endpoint as given, or the base one with /v1/traces.
  const url = traces !== undefined && traces !== '' ? traces : base !== undefined && base !== '' ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
  if (url === undefined) return undefined;
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return startTracing({ exporter: new OTLPTraceExporter({ url }), serviceName: env.OTEL_SERVICE_NAME ?? 'mosaic-fed' });
}
