// A2A push notifications (docs/protocol.md, "A2A"): where a client asked to be told of
// its task's changes, and the delivery of each change through the durable outbox, with
// its retries and its order, through the outbound client (PROTOCOL 3: a push URL is never
// a way into this instance's network). Each notification is the A2A StreamResponse as
// JSON, with the client's token and credentials, an id that stays the same across retries,
// and a signature by the instance key, so a receiver can tell a notification of ours from
// a forged one and drop the copies of one delivered twice.
import { FederationError, type A2AClient, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { canonicalJson } from '@mosaic-fed/core/util';
import { base64url, SignJWT } from 'jose';
import { z } from 'zod';
import type { InstanceService } from '../instance/service.js';
import { utf8 } from '../lib/encoding.js';
import { openText, sealText } from '../lib/sealed-key.js';
import { DeliveryDeferred, DeliveryRefused, type Outbox, type OutboxDeliverer } from '../jobs/outbox.js';
import { OutboundRefusal, type OutboundPolicy } from '../outbound/policy.js';
import type { A2APushConfigRecord, FederationStores, OutboxEntry } from '../stores/types.js';
import { A2AError } from './errors.js';
import { streamEventsOf } from './tasks.js';
import { A2A_CONTENT_TYPE, type PushConfigInput } from './wire.js';

/** The outbox's event type of a push notification. */
export const A2A_PUSH_EVENT = 'a2a.push';
/** What the sealed secrets of a push config are, bound into their key. */
const PUSH_SECRETS = 'mosaic-fed a2a push secrets v1';
/** The most push configs one task may have. */
export const PUSH_CONFIGS_PER_TASK = 10;
/** The header naming a notification: the same on every retry of it. */
export const NOTIFICATION_ID_HEADER = 'Mosaic-Fed-Notification-Id';
/** The header with the instance's signature over a notification. */
export const NOTIFICATION_SIGNATURE_HEADER = 'Mosaic-Fed-Signature';

const PushEntrySchema = z.strictObject({ configId: z.string(), taskId: z.string(), event: z.record(z.string(), z.unknown()) });
const PushSecretsSchema = z.strictObject({ token: z.string().optional(), credentials: z.string().optional() });

/** A push config as its client sees it: never its token or credentials. */
export interface PushConfigView {
  id: string;
  taskId: string;
  url: string;
  authentication?: { scheme: string } | undefined;
}

export interface A2APushOptions {
  stores: FederationStores;
  outbox: Outbox;
  instance: InstanceService;
  /** Checks a push URL when it is given; delivery goes through `fetch`, which checks it again. */
  policy: OutboundPolicy;
  /** The outbound client. */
  fetch: typeof fetch;
  /** The secret that seals tokens and credentials at rest. */
  secret: string;
  now: () => Date;
  generateId: () => string;
}

export class A2APush {
  readonly #o: A2APushOptions;

  constructor(options: A2APushOptions) {
    this.#o = options;
    options.outbox.deliverWith(A2A_PUSH_EVENT, this.#deliver);
  }

  /** Stores where to tell `client` of the task's changes. The caller checked the task is the client's. */
  async create(client: A2AClient, taskId: string, input: PushConfigInput): Promise<PushConfigView> {
    try {
      this.#o.policy.checkUrl(input.url);
    } catch (error) {
      if (!(error instanceof OutboundRefusal)) throw error;
      throw new FederationError('VALIDATION_FAILED', 'this instance may not call that URL', { details: [{ path: 'url', message: error.message }] });
    }
    if ((await this.#o.stores.a2aPushConfigs.list(taskId)).length >= PUSH_CONFIGS_PER_TASK) {
      throw new FederationError('VALIDATION_FAILED', `a task has at most ${PUSH_CONFIGS_PER_TASK} push notification configs`);
    }
    const id = input.id === undefined || input.id === '' ? this.#o.generateId() : input.id;
    const secrets = { ...(input.token === undefined || input.token === '' ? {} : { token: input.token }), ...(input.authentication?.credentials === undefined ? {} : { credentials: input.authentication.credentials }) };
    const record: A2APushConfigRecord = {
      id,
      taskId,
      clientId: client.id,
      url: input.url,
      scheme: input.authentication === undefined ? null : input.authentication.scheme,
      sealedSecrets: Object.keys(secrets).length === 0 ? null : await sealText(JSON.stringify(secrets), this.#o.secret, `${taskId}\n${id}`, PUSH_SECRETS),
      createdAt: this.#o.now().toISOString(),
    };
    if (!(await this.#o.stores.a2aPushConfigs.create(record))) {
      throw new FederationError('VALIDATION_FAILED', `the task has a push notification config ${id} already`, { details: [{ path: 'id', message: 'is taken' }] });
    }
    return viewOf(record);
  }

  async get(taskId: string, id: string): Promise<PushConfigView> {
    const record = await this.#o.stores.a2aPushConfigs.get(taskId, id);
    if (record === undefined) throw new A2AError('TASK_NOT_FOUND', 'the task has no such push notification config');
    return viewOf(record);
  }

  async list(taskId: string): Promise<PushConfigView[]> {
    return (await this.#o.stores.a2aPushConfigs.list(taskId)).map(viewOf);
  }

  /** Forgets a config; what was queued for it is then dropped, not sent. */
  async delete(taskId: string, id: string): Promise<void> {
    if (!(await this.#o.stores.a2aPushConfigs.delete(taskId, id))) throw new A2AError('TASK_NOT_FOUND', 'the task has no such push notification config');
  }

  /**
   * The notifications of a status change of the task, for each of its configs, in order
   * per config: outbox entries, stored with the status they tell of.
   */
  async notificationsOf(event: AgentStatusChangedPayload): Promise<OutboxEntry[]> {
    const configs = await this.#o.stores.a2aPushConfigs.list(event.agentId);
    return configs.flatMap((config) =>
      streamEventsOf(event).map((streamEvent) =>
        this.#o.outbox.entry({ connectionId: config.clientId, peerInstanceId: config.clientId }, A2A_PUSH_EVENT, { configId: config.id, taskId: config.taskId, event: streamEvent }, `push:${config.taskId}:${config.id}`),
      ),
    );
  }

  /** Sends one notification: done on a 2xx, retried on a 408, 429 or 5xx (and no answer), given up on any other. */
  readonly #deliver: OutboxDeliverer = async (entry) => {
    const { configId, taskId, event } = PushEntrySchema.parse(entry.payload);
    const config = await this.#o.stores.a2aPushConfigs.get(taskId, configId);
    // The client forgot the config: nothing to send, and nothing to retry.
    if (config === undefined) return;
    const secrets = config.sealedSecrets === null ? {} : PushSecretsSchema.parse(JSON.parse(await openText(config.sealedSecrets, this.#o.secret, `${taskId}\n${configId}`, PUSH_SECRETS)));
    const body = canonicalJson(event);
    const response = await this.#o.fetch(config.url, {
      method: 'POST',
      headers: {
        'Content-Type': A2A_CONTENT_TYPE,
        [NOTIFICATION_ID_HEADER]: entry.id,
        [NOTIFICATION_SIGNATURE_HEADER]: await this.#signature(config, entry.id, body),
        ...(secrets.token === undefined ? {} : { 'X-A2A-Notification-Token': secrets.token }),
        ...(config.scheme === null || secrets.credentials === undefined ? {} : { Authorization: `${config.scheme} ${secrets.credentials}` }),
      },
      body,
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return;
    const retryAfter = Number(response.headers.get('retry-after'));
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      throw new DeliveryDeferred(`the push URL answered HTTP ${response.status}`, Number.isInteger(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 3_600) : undefined);
    }
    throw new DeliveryRefused(`the push URL answered HTTP ${response.status}`);
  };

  /**
   * A JWT by the instance key (the card's `jku` has the public key) that names the
   * notification, its receiver, its task and the SHA-256 of its body.
   */
  async #signature(config: A2APushConfigRecord, notificationId: string, body: string): Promise<string> {
    const key = await this.#o.instance.signingKey();
    const { url } = await this.#o.instance.load();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(body)));
    const now = Math.floor(this.#o.now().getTime() / 1000);
    return new SignJWT({ taskId: config.taskId, bodySha256: base64url.encode(digest) })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: key.kid })
      .setIssuer(url)
      .setAudience(config.url)
      .setJti(notificationId)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(key.privateKey);
  }
}

function viewOf(record: A2APushConfigRecord): PushConfigView {
  return { id: record.id, taskId: record.taskId, url: record.url, ...(record.scheme === null ? {} : { authentication: { scheme: record.scheme } }) };
}
