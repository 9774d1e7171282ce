// HttpOrchestrator: the server's `OrchestratorAdapter` for an orchestrator that runs as
// its own service (PROTOCOL 7). Runs on any runtime with `fetch`.
import {
  AgentBundleResponseSchema,
  AgentKillResponseSchema,
  AgentRespondResponseSchema,
  AgentSpawnResponseSchema,
  AgentStatusSchema,
  FederationError,
  isFederationError,
  TranscriptEntrySchema,
  type AgentBundleResponse,
  type AgentKillResponse,
  type AgentRespondResponse,
  type ApprovalAnswer,
  type BundleRange,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type OrchestratorAdapter,
  type OrchestratorSpawnRequest,
  type TranscriptEntry,
  type TranscriptPage,
  type WatchAgentOptions,
} from '@mosaic-fed/core';
import { readAgentEvents, requestBearerApi, type BearerApiOptions } from '@mosaic-fed/sdk';

export interface HttpOrchestratorOptions {
  /** The service's base URL. */
  url: string;
  /** The shared bearer token. */
  token: string;
  fetch?: typeof fetch;
  /** Per-call timeout in milliseconds (not for event streams). Default 15,000. */
  timeoutMs?: number;
  /** First wait before reopening a dropped event stream, doubled per failure up to 30 s. Default 1,000. */
  reconnectDelayMs?: number;
}

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
  readonly #api: BearerApiOptions;
  readonly #reconnectDelayMs: number;

  constructor(options: HttpOrchestratorOptions) {
    if (!URL.canParse(options.url)) throw new TypeError('HttpOrchestrator: `url` must be an absolute URL');
    if (typeof options.token !== 'string' || options.token === '') throw new TypeError('HttpOrchestrator: give the service token');
    this.#api = {
      baseUrl: new URL(options.url.endsWith('/') ? options.url : `${options.url}/`),
      token: options.token,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs: options.timeoutMs ?? 15_000,
      unreachable: (cause) => new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the orchestrator cannot be reached', { cause }),
    };
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

  async respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse> {
    return AgentRespondResponseSchema.parse(await this.#call('POST', `agents/${encodeURIComponent(agentId)}/respond`, answer));
  }

  async transcript(agentId: string, page: TranscriptPage): Promise<TranscriptEntry[]> {
    const query = `after=${page.after}&limit=${page.limit}`;
    return TranscriptEntrySchema.array().parse(await this.#call('GET', `agents/${encodeURIComponent(agentId)}/transcript?${query}`));
  }

  async bundle(agentId: string, range: BundleRange): Promise<AgentBundleResponse> {
    const query = `offset=${range.offset}${range.length === undefined ? '' : `&length=${range.length}`}`;
    return AgentBundleResponseSchema.parse(await this.#call('GET', `agents/${encodeURIComponent(agentId)}/bundle?${query}`));
  }

  watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    return readAgentEvents({
      ...this.#api,
      path: `agents/${encodeURIComponent(agentId)}/events`,
      lastEventId: options.afterSequence,
      signal: options.signal,
      reconnectDelayMs: this.#reconnectDelayMs,
      // The server follows its agents for as long as they run: keep trying.
      maxReconnects: Number.POSITIVE_INFINITY,
    });
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    try {
      return await requestBearerApi(this.#api, method, path, body);
    } catch (error) {
      // The service's credentials are this server's business, not the peer's: a refused
      // token means the orchestrator is unusable from here.
      if (isFederationError(error) && error.code === 'UNAUTHORIZED') {
        throw new FederationError('ORCHESTRATOR_UNAVAILABLE', "the orchestrator refused this server's token");
      }
      throw error;
    }
  }
}
