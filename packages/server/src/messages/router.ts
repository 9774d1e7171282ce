// The command router: every COMMAND, QUERY and EVENT type is one registration that says
// which capability switch and grant it needs, what its payload looks like, and what it
// does. Checks run in one place, in one order, before any handler.
import {
  FederationError,
  parseOrThrow,
  type Capabilities,
  type CommandMessage,
  type EventMessage,
  type GrantableType,
  type QueryMessage,
} from '@mosaic-fed/core';
import { inSpan } from '@mosaic-fed/sdk/tracing';
import type { z } from 'zod';
import type { ConnectionRecord } from '../stores/types.js';

type RoutedMessage = CommandMessage | QueryMessage | EventMessage;
type RoutedKind = RoutedMessage['kind'];

/** What a handler gets besides its validated payload. */
export interface HandlerContext<M extends RoutedMessage = RoutedMessage> {
  message: M;
  /** The sender's connection, ACTIVE. */
  connection: ConnectionRecord;
}

/** One message type the instance answers. */
export interface MessageRegistration<S extends z.ZodType = z.ZodType, K extends RoutedKind = RoutedKind> {
  kind: K;
  type: string;
  payload: S;
  /**
   * An extra capability switch the type needs (besides the kind's own
   * `supportsCommand` / `supportsQuery` / `supportsEvent`), e.g. `supportsAgentSpawn`.
   */
  capability?: 'supportsAgentSpawn';
  /**
   * The entry of the connection's `allowedCommands` that allows this type, or `false`
   * for none needed. Default: the type itself, for COMMAND and QUERY.
   */
  grant?: GrantableType | false;
  /**
   * Running the handler twice does no more than running it once (it only reads, or it
   * applies what it carries once, by sequence): the message runs before it is logged, and
   * the log takes it with its answer in one write, so no claim is left "in progress" by a
   * store that failed in between. Default: true for QUERY, false otherwise.
   */
  safeToRepeat?: boolean;
  /**
   * A read whose answer is too large to keep for every copy (a chunk of a finished agent's
   * bundle, up to 500 statuses): the log keeps that the message was answered, not the
   * answer, and a copy is answered by running it again, which only reads (it gets the same
   * chunk, or the statuses as they are then). Only with `safeToRepeat`.
   */
  answerNotKept?: boolean;
  handle(payload: z.output<S>, context: HandlerContext<Extract<RoutedMessage, { kind: K }>>): Promise<unknown>;
}

const KIND_SWITCH = {
  COMMAND: 'supportsCommand',
  QUERY: 'supportsQuery',
  EVENT: 'supportsEvent',
} as const satisfies Record<RoutedKind, keyof Capabilities>;

const KIND_FIELD = {
  COMMAND: 'commandType',
  QUERY: 'queryType',
  EVENT: 'eventType',
} as const satisfies Record<RoutedKind, string>;

function typeOf(message: RoutedMessage): string {
  switch (message.kind) {
    case 'COMMAND':
      return message.commandType;
    case 'QUERY':
      return message.queryType;
    case 'EVENT':
      return message.eventType;
  }
}

export class MessageRouter {
  readonly #routes = new Map<string, MessageRegistration>();

  /** Adds a message type. A new command type is exactly one call of this. */
  register<S extends z.ZodType, K extends RoutedKind>(registration: MessageRegistration<S, K>): this {
    const key = `${registration.kind} ${registration.type}`;
    if (this.#routes.has(key)) throw new TypeError(`${key} is registered already`);
    this.#routes.set(key, registration as unknown as MessageRegistration);
    return this;
  }

  /**
   * Whether running the message twice does no more than once: a type marked so, or one
   * this instance does not offer (its dispatch is refused before anything runs).
   */
  safeToRepeat(message: RoutedMessage): boolean {
    const route = this.#routes.get(`${message.kind} ${typeOf(message)}`);
    return route === undefined || (route.safeToRepeat ?? message.kind === 'QUERY');
  }

  /** Whether the message's answer is run again for a copy rather than kept (`answerNotKept`). */
  answersAgain(message: RoutedMessage): boolean {
    return this.#routes.get(`${message.kind} ${typeOf(message)}`)?.answerNotKept === true && this.safeToRepeat(message);
  }

  /**
   * Runs the checks (PROTOCOL 2 and 3) and the handler: the kind's capability switch,
   * an unknown type (`VALIDATION_FAILED`), the type's own switch (`CAPABILITY_DISABLED`),
   * the connection's grants (`FORBIDDEN`, deny by default), the payload schema
   * (`VALIDATION_FAILED`).
   */
  async dispatch(message: RoutedMessage, connection: ConnectionRecord, capabilities: Capabilities): Promise<unknown> {
    const type = typeOf(message);
    if (!capabilities[KIND_SWITCH[message.kind]]) {
      throw new FederationError('CAPABILITY_DISABLED', `this instance does not accept ${message.kind} messages`);
    }
    const route = this.#routes.get(`${message.kind} ${type}`);
    if (route === undefined) {
      // PROTOCOL 2: a type this instance does not know is a payload it cannot validate.
      throw new FederationError('VALIDATION_FAILED', `this instance offers no ${message.kind} ${type}`, {
        details: [{ path: KIND_FIELD[message.kind], message: `${type} is not a known ${KIND_FIELD[message.kind]}` }],
      });
    }
    if (route.capability !== undefined && !capabilities[route.capability]) {
      throw new FederationError('CAPABILITY_DISABLED', `this instance has ${type} switched off`);
    }
    const grant = route.grant ?? (message.kind === 'EVENT' ? false : type);
    if (grant !== false && !(connection.grants.allowedCommands as readonly string[]).includes(grant)) {
      throw new FederationError('FORBIDDEN', `the connection's grants do not allow ${grant}`);
    }
    const payload: unknown = parseOrThrow(route.payload, message.payload, `${type} payload`);
    const attributes = { 'mosaic_fed.message.kind': message.kind, 'mosaic_fed.message.type': type, 'mosaic_fed.peer.instance_id': message.iss };
    return inSpan(`${message.kind} ${type}`, { attributes }, () => route.handle(payload, { message, connection }));
  }
}
