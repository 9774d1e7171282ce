// The instance's A2A Agent Card (docs/protocol.md, "A2A"): one agent with a skill per agent
// type it runs, its two bindings, bearer tokens as its security scheme, and a signature
// by the instance key as A2A's signed cards have it (a JWS over the card's RFC 8785
// canonical JSON, without `signatures` and without empty values).
import type { InstanceDocument } from '@mosaic-fed/core';
import { canonicalJson } from '@mosaic-fed/core/util';
import { FlattenedSign } from 'jose';
import type { InstanceService } from '../instance/service.js';
import { A2A_VERSION } from './wire.js';

/** Where the bindings and the card live, under the instance's URL. */
export const A2A_PATHS = {
  card: '/.well-known/agent-card.json',
  keys: '/.well-known/jwks.json',
  jsonRpc: '/a2a/jsonrpc',
  rest: '/a2a/rest',
} as const;

const SKILLS = {
  worker: {
    name: 'Change code',
    description: 'Works on a branch of a repository: reads the work items and instructions, edits, builds and tests, and hands back a summary and a patch.',
    examples: ['Fix the failing date parsing test', 'Add a --json flag to the export command'],
  },
  reviewer: {
    name: 'Review code',
    description: 'Reads a branch of a repository and reports what it finds, without changing it.',
    examples: ['Review the error handling of the payment module'],
  },
  tester: {
    name: 'Test code',
    description: 'Runs and writes tests on a branch of a repository and reports what fails.',
    examples: ['Find out why the integration tests fail on main'],
  },
} as const;

/** The card without its signature; with an OIDC issuer, its access tokens are a second way in. */
function unsignedCard(document: InstanceDocument, oidcIssuer: string | undefined): Record<string, unknown> {
  return {
    name: document.name,
    description: `Coding agents of the Mosaic Federation instance ${document.name}: each works on a repository branch in a sandbox. Start one with a message whose data part names the repository and branch.`,
    supportedInterfaces: [
      { url: `${document.url}${A2A_PATHS.jsonRpc}`, protocolBinding: 'JSONRPC', protocolVersion: A2A_VERSION },
      { url: `${document.url}${A2A_PATHS.rest}`, protocolBinding: 'HTTP+JSON', protocolVersion: A2A_VERSION },
    ],
    provider: { organization: document.name, url: document.url },
    version: document.protocol,
    capabilities: { streaming: true, pushNotifications: true, extendedAgentCard: false },
    securitySchemes: {
      bearer: { httpAuthSecurityScheme: { scheme: 'Bearer', description: 'An A2A client token (mfc_...) that an admin of this instance issued.' } },
      ...(oidcIssuer === undefined
        ? {}
        : {
            oidc: {
              openIdConnectSecurityScheme: {
                openIdConnectUrl: `${oidcIssuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
                description: 'An access token of the issuer whose subject an admin gave an A2A client.',
              },
            },
          }),
    },
    // Either one (A2A: the card's requirements are alternatives).
    securityRequirements: [{ schemes: { bearer: { list: [] } } }, ...(oidcIssuer === undefined ? [] : [{ schemes: { oidc: { list: [] } } }])],
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain', 'text/x-diff', 'application/json'],
    skills: document.capabilities.agentTypes.map((type) => ({ id: type, ...SKILLS[type], tags: ['coding', type] })),
  };
}

/** A value without its empty strings, lists and objects, as A2A canonicalises a card before signing it. */
function withoutEmpty(value: unknown): unknown {
  if (value === '' || value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    const kept = value.map(withoutEmpty).filter((item) => item !== undefined);
    return kept.length === 0 ? undefined : kept;
  }
  if (typeof value === 'object') {
    const kept = Object.entries(value).flatMap(([key, item]) => {
      const cleaned = withoutEmpty(item);
      return cleaned === undefined ? [] : [[key, cleaned] as const];
    });
    return kept.length === 0 ? undefined : Object.fromEntries(kept);
  }
  return value;
}

/** The bytes an A2A card signature signs. */
export function cardSigningInput(card: Record<string, unknown>): Uint8Array {
  const { signatures: _signatures, ...rest } = card;
  return new TextEncoder().encode(canonicalJson(withoutEmpty(rest) ?? {}));
}

/**
 * Serves the card, signed: once per change of what it says or of the instance key, not
 * per request.
 */
export class AgentCardSigner {
  #cached: { text: string; kid: string; card: Record<string, unknown> } | undefined;

  constructor(
    private readonly instance: InstanceService,
    private readonly oidcIssuer?: string | undefined,
  ) {}

  async card(): Promise<Record<string, unknown>> {
    const document = this.instance.document(await this.instance.load());
    const card = unsignedCard(document, this.oidcIssuer);
    const text = JSON.stringify(card);
    const key = await this.instance.signingKey();
    if (this.#cached?.text === text && this.#cached.kid === key.kid) return this.#cached.card;
    const jws = await new FlattenedSign(cardSigningInput(card))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JOSE', kid: key.kid, jku: `${document.url}${A2A_PATHS.keys}` })
      .sign(key.privateKey);
    const signed = { ...card, signatures: [{ protected: jws.protected, signature: jws.signature }] };
    this.#cached = { text, kid: key.kid, card: signed };
    return signed;
  }

  /** The instance's live public keys as a JWK Set: what the card's `jku` names. */
  async keys(): Promise<{ keys: InstanceDocument['keys'] }> {
    return { keys: this.instance.document(await this.instance.load()).keys };
  }
}
