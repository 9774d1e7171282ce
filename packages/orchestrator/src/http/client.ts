// HttpOrchestrator: the server's `OrchestratorAdapter` for an orchestrator that runs as
// its own service (PROTOCOL 7). Runs on any runtime with `fetch`.
import {
  AgentKillResponseSchema,
  AgentSpawnResponseSchema,
  AgentStatusChangedPayloadSchema,
  AgentStatusSchema,
  FederationError,
  isTerminalState,
  readServerSentEvents,
  type AgentKillResponse,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type OrchestratorAdapter,
  type OrchestratorSpawnRequest,
  type WatchAgentOptions,
} from '@mosaic-fed/core';
import { z } from 'zod';

export interface HttpOrchestratorOptions {
  /** The service's base URL. */
  url: string;
  /** The shared bearer token. */
  token: string;
  fetch?: typeof fetch;
  /** Per-call timeout in milliseconds (not for event streams). Default 15,000. */
  timeoutMs?: number;
  /** Wait before reopening a dropped event stream. Default 1,000. */
  reconnectDelayMs?: number;
}

const EnvelopeSchema = z.object({ success: z.literal(true), data: z.unknown() });

/**
 * Reaches an orchestrator service over HTTP. When the service cannot be reached, calls
 * fail with `ORCHESTRATOR_UNAVAILABLE`; its own errors keep their protocol codes.
 *
 * @example
 * ```ts
 * const orchestrator = new HttpOrchestrator({ url: 'http://orchestrator:4848', token });
 * const app = createFederationApp({ ..., orchestrator });
 * ```
 */
export class HttpOrchestrator implements OrchestratorAdapter {
  readonly #base: URL;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #reconnectDelayMs: number;

  constructor(options: HttpOrchestratorOptions) {
    if (!URL.canParse(options.url)) throw new TypeError('HttpOrchestrator: `url` must be an absolute URL');
    if (typeof options.token !== 'string' || options.token === '') throw new TypeError('HttpOrchestrator: give the service token');
    this.#base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  }

  async spawn(request: OrchestratorSpawnRequest): Promise<AgentSpawnResponse> {
    return AgentSpawnResponseSchema.parse(await this.#call('POST', 'agents/spawn', request));
  }

  async getStatus(agentId: string): Promise<AgentStatus> {
    return AgentStatusSchema.parse(await this.#call('GET', `agents/${encodeURIComponent(agentId)}/status`));
  }

  async kill(agentId: string): Promise<AgentKillResponse> {
    return AgentKillResponseSchema.parse(await this.#call('POST', `agents/${encodeURIComponent(agentId)}/kill`));
  }

  async *watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    let after = options.afterSequence ?? 0;
    const aborted = () => options.signal?.aborted === true;
    while (!aborted()) {
      let response: Response;
      try {
        response = await this.#fetch(new URL(`agents/${encodeURIComponent(agentId)}/events`, this.#base), {
          headers: { Authorization: `Bearer ${this.#token}`, Accept: 'text/event-stream', 'Last-Event-ID': String(after) },
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      } catch {
        if (aborted()) return;
        await delay(this.#reconnectDelayMs, options.signal);
        continue;
      }
      if (!response.ok || response.body === null) throw await errorOf(response);
      try {
        for await (const message of readServerSentEvents(response.body)) {
          if (message.event !== 'agent.status.changed') continue;
          const event = AgentStatusChangedPayloadSchema.parse(JSON.parse(message.data));
          if (event.sequence <= after) continue;
          after = event.sequence;
          yield event;
          if (isTerminalState(event.status)) return;
        }
      } catch (error) {
        if (aborted()) return;
        if (error instanceof z.ZodError || error instanceof SyntaxError) {
          throw new FederationError('INTERNAL', 'the orchestrator sent an event that is not an agent status');
        }
      }
      // The stream ended before a terminal status (a restart, a proxy): reopen it.
      await delay(this.#reconnectDelayMs, options.signal);
    }
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await this.#fetch(new URL(path, this.#base), {
        method,
        headers: {
          Authorization: `Bearer ${this.#token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the orchestrator cannot be reached', { cause: error });
    }
    if (!response.ok) throw await errorOf(response);
    const envelope = EnvelopeSchema.safeParse(await response.json().catch(() => undefined));
    if (!envelope.success) throw new FederationError('INTERNAL', 'the orchestrator answered outside its protocol');
    return envelope.data.data;
  }
}

async function errorOf(response: Response): Promise<FederationError> {
  const error = FederationError.fromWire(await response.json().catch(() => undefined), response.status);
  // The service's own credentials are the server's business, not the peer's: a refused
  // token means the orchestrator is unusable from here.
  if (error.code === 'UNAUTHORIZED') return new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the orchestrator refused this server\'s token');
  return error;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
