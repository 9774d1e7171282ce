// A client of another A2A 1.0 agent (docs/protocol.md, "A2A"): its card read and checked,
// and SendMessage, GetTask and CancelTask over JSON-RPC or HTTP+JSON, through the outbound
// client (PROTOCOL 3). Every answer is checked with zod before it is used; the agent's
// errors become this protocol's codes.
import { ErrorCodeSchema, FederationError, type ErrorCode } from '@mosaic-fed/core';
import { z } from 'zod';
import { MOSAIC_DOMAIN } from './errors.js';
import { A2A_VERSION, MessageSchema, TaskSchema, type SendMessageRequest, type Task } from './wire.js';

/** What this instance reads of an A2A agent's card. */
export const AgentCardSchema = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(10_000).optional(),
  supportedInterfaces: z
    .array(
      z.object({
        url: z.string().min(1).max(2_048),
        protocolBinding: z.string().max(64),
        protocolVersion: z.string().max(16).optional(),
        tenant: z.string().max(128).optional(),
      }),
    )
    .min(1)
    .max(20),
  skills: z.array(z.object({ id: z.string(), name: z.string().optional() })).max(100).optional(),
});
export type AgentCard = z.infer<typeof AgentCardSchema>;

export type A2ABinding = 'JSONRPC' | 'HTTP+JSON';

/** The first of the card's interfaces this instance speaks: JSON-RPC or HTTP+JSON, A2A 1.x. */
export function chooseInterface(card: AgentCard): { endpoint: string; binding: A2ABinding } | undefined {
  for (const candidate of card.supportedInterfaces) {
    const version = candidate.protocolVersion ?? A2A_VERSION;
    if (!version.startsWith('1')) continue;
    if (candidate.tenant !== undefined && candidate.tenant !== '') continue;
    if (candidate.protocolBinding === 'JSONRPC' || candidate.protocolBinding === 'HTTP+JSON') return { endpoint: candidate.url, binding: candidate.protocolBinding };
  }
  return undefined;
}

const ErrorInfoSchema = z.object({ reason: z.string(), domain: z.string().optional() });
const JsonRpcAnswerSchema = z.union([
  z.object({ jsonrpc: z.literal('2.0'), result: z.unknown() }),
  z.object({ jsonrpc: z.literal('2.0'), error: z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() }) }),
]);
const RestErrorSchema = z.object({ error: z.object({ code: z.number().optional(), message: z.string().optional(), details: z.array(z.unknown()).optional() }) });
const SendMessageAnswerSchema = z.union([z.object({ task: TaskSchema }), z.object({ message: MessageSchema })]);

/** A2A's reasons, as this protocol's codes. */
const CODE_OF_REASON: Record<string, ErrorCode> = {
  TASK_NOT_FOUND: 'NOT_FOUND',
  TASK_NOT_CANCELABLE: 'AGENT_ALREADY_TERMINAL',
  INVALID_PARAMS: 'VALIDATION_FAILED',
  UNSUPPORTED_OPERATION: 'VALIDATION_FAILED',
  CONTENT_TYPE_NOT_SUPPORTED: 'VALIDATION_FAILED',
};

/** An A2A agent's error as this protocol's: its own code where it names one of ours, else A2A's reason's. */
function errorOf(message: string, details: unknown, httpStatus: number): FederationError {
  const infos = (Array.isArray(details) ? details : []).flatMap((detail) => {
    const parsed = ErrorInfoSchema.safeParse(detail);
    return parsed.success ? [parsed.data] : [];
  });
  const ours = infos.find((info) => info.domain === MOSAIC_DOMAIN && ErrorCodeSchema.safeParse(info.reason).success);
  const code: ErrorCode = ours !== undefined ? ErrorCodeSchema.parse(ours.reason) : (infos.map((info) => CODE_OF_REASON[info.reason]).find((c) => c !== undefined) ?? (httpStatus === 401 || httpStatus === 403 ? 'FORBIDDEN' : 'PEER_UNAVAILABLE'));
  const said = message.slice(0, 500);
  return new FederationError(code, code === 'PEER_UNAVAILABLE' ? `the A2A agent could not do it: ${said}` : `the A2A agent said: ${said}`);
}

export interface A2ARemoteClientOptions {
  endpoint: string;
  binding: A2ABinding;
  /** Sent as `Authorization: Bearer`, when the agent asks for one. */
  token?: string | undefined;
  /** The outbound client. */
  fetch: typeof fetch;
}

export class A2ARemoteClient {
  readonly #o: A2ARemoteClientOptions;
  #requestId = 0;

  constructor(options: A2ARemoteClientOptions) {
    this.#o = { ...options, endpoint: options.endpoint.replace(/\/+$/, '') };
  }

  /** Sends a message; answers the task it started or changed (an agent that only answers with a message starts none). */
  async sendMessage(request: SendMessageRequest): Promise<Task> {
    const answer = SendMessageAnswerSchema.parse(
      this.#o.binding === 'JSONRPC' ? await this.#rpc('SendMessage', request) : await this.#rest('POST', '/message:send', request),
    );
    if ('message' in answer) throw new FederationError('VALIDATION_FAILED', 'the A2A agent answered with a message and started no task');
    return answer.task;
  }

  async getTask(id: string): Promise<Task> {
    return TaskSchema.parse(this.#o.binding === 'JSONRPC' ? await this.#rpc('GetTask', { id }) : await this.#rest('GET', `/tasks/${encodeURIComponent(id)}`));
  }

  async cancelTask(id: string): Promise<Task> {
    return TaskSchema.parse(this.#o.binding === 'JSONRPC' ? await this.#rpc('CancelTask', { id }) : await this.#rest('POST', `/tasks/${encodeURIComponent(id)}:cancel`, {}));
  }

  #headers(): Record<string, string> {
    return {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'A2A-Version': A2A_VERSION,
      ...(this.#o.token === undefined ? {} : { Authorization: `Bearer ${this.#o.token}` }),
    };
  }

  async #rpc(method: string, params: unknown): Promise<unknown> {
    const id = ++this.#requestId;
    const response = await this.#o.fetch(this.#o.endpoint, { method: 'POST', headers: this.#headers(), body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) });
    const answer = JsonRpcAnswerSchema.safeParse(await response.json().catch(() => undefined));
    if (!answer.success) throw new FederationError('PEER_UNAVAILABLE', `the A2A agent's answer is not JSON-RPC (HTTP ${response.status})`);
    if ('error' in answer.data) throw errorOf(answer.data.error.message, answer.data.error.data, response.status);
    return answer.data.result;
  }

  async #rest(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const response = await this.#o.fetch(`${this.#o.endpoint}${path}`, { method, headers: this.#headers(), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const json: unknown = await response.json().catch(() => undefined);
    if (response.ok) return json;
    const failure = RestErrorSchema.safeParse(json);
    throw errorOf(failure.success ? (failure.data.error.message ?? `HTTP ${response.status}`) : `HTTP ${response.status}`, failure.success ? failure.data.error.details : undefined, response.status);
  }
}
