// The web UI under /federation/: sign-in with an admin token into a signed session cookie,
// CSRF tokens on every form, and the settings page. Forms post back and redirect, so the
// pages work without JavaScript.
import {
  ACTING_ROLES,
  AgentSpawnPayloadSchema,
  ApprovalAnswerSchema,
  AuditQuerySchema,
  AddA2AAgentDtoSchema,
  AgentStatusesDtoSchema,
  CreateA2AClientDtoSchema,
  CreateUserDtoSchema,
  CreateWorkspaceDtoSchema,
  UpdateWorkspaceDtoSchema,
  WorkspaceRoleSchema,
  FederationError,
  IdempotencyKeySchema,
  InstanceUrlSchema,
  isFederationError,
  LIMITS,
  parseOrThrow,
  UpdateGrantsDtoSchema,
  UpdateInstanceDtoSchema,
  type A2AAgent,
  type A2AClient,
  type A2AClientCreated,
  type AuditActor,
  type AgentStatus,
  type Connection,
  type AuditQuery,
  type Capabilities,
  type InstanceConfiguration,
  type Membership,
  type UpdateInstanceDto,
  type Workspace,
  type WorkspaceRole,
} from '@mosaic-fed/core';
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { stream } from 'hono/streaming';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { mayAct, spawnAccess, userPrincipal, visibleWorkspaces, workspaceAccess, type Principal } from '../auth/principal.js';
import { authenticateAdmin, type AdminAuthenticator } from '../auth/types.js';
import type { DeliveryService } from '../agents/deliveries.js';
import type { FederationAgentService } from '../agents/federation-agents.js';
import type { HostedAgents } from '../agents/hosted.js';
import { toConnection, type ConnectionService } from '../connections/service.js';
import type { EventBus } from '../replicas/event-bus.js';
import type { InstanceService } from '../instance/service.js';
import { bundleHeaders, spawnDeadline, streamAgentEvents } from '../routes/agents.js';
import { agentRows } from '../agents/overview.js';
import { agentListQueryOf } from './agent-list.js';
import { HomePage } from './home-page.js';
import { runHealthChecks, type HealthProbe } from '../instance/health.js';
import type { ZodError } from 'zod';
import type { FederationStores } from '../stores/types.js';
import type { PeopleService } from '../people/service.js';
import { PeoplePage, WorkspacePage, WorkspacesPage } from './people-pages.js';
import { AgentPage, AgentsPage, stateTime, type SpawnForm, type TimelineEntry } from './agent-pages.js';
import { ConnectionPage, ConnectionsPage, listInWords } from './connection-pages.js';
import { describeError, type Logger } from '../logger.js';
import { MessagePage, NavigationContext, type FieldNotes } from './layout.js';
import { RegeneratePage, SettingsPage, type SettingsForm } from './settings-pages.js';
import { SignInPage } from './sign-in-page.js';
import { TokensPage } from './token-pages.js';
import { A2AClientsPage, type A2AClientForm } from './a2a-client-pages.js';
import type { A2AClients } from '../a2a/clients.js';
import type { A2ARemoteAgents } from '../a2a/remote-agents.js';
import { A2A_PATHS } from '../a2a/card.js';
import { AuditPage, type AuditFilterForm } from './audit-pages.js';
import { auditListOf } from '../routes/admin.js';
import { revokeAdminToken, toAdminToken } from '../auth/admin-tokens.js';
import { randomToken } from '../lib/encoding.js';
import { SESSION_SECONDS, sessionCookieName, type Session, type SessionSigner } from './session.js';

const SIGN_IN_COOKIE = 'mosaic_fed_sign_in';
/** How many recently failed agents the home page lists. */
const RECENT_FAILURES = 5;
/** Agents per page of the agents view. */
const AGENTS_PAGE = 50;
/** Audit entries per page of the audit page. */
const AUDIT_PAGE = 50;

/** A `datetime-local` value (UTC, as the form says) as ISO 8601; anything else as given, for the schema to judge. */
const utcOf = (value: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?$/.test(value) ? `${value.length === 16 ? `${value}:00` : value}Z` : value);

/** The audit page's filters from its query string: the form as typed, and the query, or a note saying what to change. */
function auditQueryOf(raw: Record<string, string>): { form: AuditFilterForm; query?: AuditQuery; note?: string } {
  const field = (name: string) => (raw[name] ?? '').trim();
  const form: AuditFilterForm = { action: field('action'), actor: field('actor'), since: field('since'), until: field('until') };
  const present = (value: string) => (value === '' ? undefined : value);
  const parsed = AuditQuerySchema.safeParse({
    limit: AUDIT_PAGE,
    ...(present(field('cursor')) === undefined ? {} : { cursor: field('cursor') }),
    ...(present(form.action) === undefined ? {} : { action: form.action }),
    ...(present(form.actor) === undefined ? {} : { actor: form.actor }),
    ...(present(form.since) === undefined ? {} : { since: utcOf(form.since) }),
    ...(present(form.until) === undefined ? {} : { until: utcOf(form.until) }),
  });
  if (parsed.success) return { form, query: parsed.data };
  return { form, note: 'These filters need another look: an action is a word such as connection or connection.accept, and the times are as the fields give them.' };
}
/** How many transcript entries an agent's page shows; the API pages through the rest. */
const TRANSCRIPT_PAGE = 200;

export interface UiOptions {
  instance: InstanceService;
  people: PeopleService;
  connections: ConnectionService;
  agents: FederationAgentService;
  deliveries: DeliveryService;
  hosted: HostedAgents;
  a2aClients: A2AClients;
  /** A2A agents elsewhere: spawn targets beside the connections. */
  a2aAgents: A2ARemoteAgents;
  events: EventBus;
  stores: FederationStores;
  /** The clock of the event streams' keep-alives; see the app's `monotonic`. */
  monotonic: () => number;
  authenticators: readonly AdminAuthenticator[];
  signer: SessionSigner;
  /** Makes a new key pair and tells peers (the same as the API's regenerate-keys). */
  regenerateKeys: (actor: AuditActor) => Promise<unknown>;
  /** The parts of the instance's health the home page shows. */
  health: readonly HealthProbe[];
  logger: Logger;
  now: () => Date;
  generateId: () => string;
}

interface UiEnv {
  Variables: { session: Session; csrf: string; principal: Principal };
}

/** Calm words for a field the settings form could not use, by field. */
const FIELD_NOTES: Record<string, string> = {
  name: 'A name of 1 to 100 characters fits here.',
  maxConcurrentAgents: 'A whole number from 0 to 10,000 fits here.',
  metadata: 'Metadata is a JSON object of up to 16 KiB, such as {"region": "eu-west"}; this could not be read as one.',
  agentTypes: 'Each agent type can be chosen once.',
};

export function uiRoutes(options: UiOptions) {
  const { instance, signer } = options;

  /** Refuses a form posted from another site (with SameSite cookies and CSRF tokens, a third guard). */
  const sameOrigin = createMiddleware(async (c, next) => {
    const origin = c.req.header('origin');
    if (c.req.method === 'POST' && origin !== undefined && origin !== 'null') {
      const own = new URL(c.req.url).origin;
      const published = new URL((await instance.load()).url).origin;
      if (origin !== own && origin !== published) throw new FederationError('FORBIDDEN', 'forms of this instance are sent from its own pages');
    }
    await next();
  });

  /** A session made with a token (an admin's, or a user's) lasts no longer than the token. */
  const tokenStillGood = async (session: Session) => {
    const tokenId = session.actor.type === 'admin-token' ? session.actor.id : session.tokenId;
    if (tokenId === undefined) return true;
    const token = await options.stores.adminTokens.get(tokenId);
    return token !== undefined && token.revokedAt === null && (token.expiresAt === null || Date.parse(token.expiresAt) > options.now().getTime());
  };

  /** Who a session is: an admin, or a user as their workspaces stand now; `undefined` for a user who is no more. */
  const principalOf = (session: Session): Promise<Principal | undefined> =>
    session.actor.type === 'user' ? userPrincipal(options.stores.people, session.actor.id) : Promise.resolve({ kind: 'admin', actor: session.actor });

  const cookieName = async () => sessionCookieName((await instance.load()).instanceId);

  /**
   * A signed-in page: for admins only (`signedIn`, every page unless it says otherwise), or
   * for users too (`signedInPerson`: the agent pages, which keep a user to their workspaces).
   */
  const signedInAs = (who: 'admin' | 'anyone') =>
    createMiddleware<UiEnv>(async (c, next) => {
      const session = await signer.open(getCookie(c, await cookieName()));
      if (session === undefined) return c.redirect('/federation/sign-in', 303);
      // Revoked or expired, its token signs the browser out at its next page; so does a
      // user removed from the instance.
      const principal = (await tokenStillGood(session)) ? await principalOf(session) : undefined;
      if (principal === undefined) {
        deleteCookie(c, await cookieName(), { path: '/federation' });
        return c.redirect('/federation/sign-in', 303);
      }
      if (who === 'admin' && principal.kind !== 'admin') {
        if (c.req.method === 'GET') return c.redirect('/federation/agents', 303);
        throw new FederationError('FORBIDDEN', "this is the instance's admins' to do");
      }
      c.set('session', session);
      c.set('principal', principal);
      c.set('csrf', await signer.csrfToken(session));
      if (c.req.method === 'POST') {
        const body = await c.req.parseBody({ all: true });
        await signer.checkCsrf(session, body.csrf);
      }
      await next();
      return undefined;
    });
  const signedIn = signedInAs('admin');
  const signedInPerson = signedInAs('anyone');

  /**
   * A signed-in page, with what its navigation shows: the connection requests waiting, and
   * the agents sent from here that wait for an answer, of those the person sees (counted
   * for pages only, not for form posts, downloads or event streams).
   */
  const signedInPage = async (c: Context<UiEnv>, content: Child, status?: ContentfulStatusCode) => {
    const principal = c.get('principal');
    const waiting = await options.stores.remoteAgents.list({ status: 'waiting', workspaceIds: visibleWorkspaces(principal), limit: LIMITS.listLimitMax });
    const awaitingAnswers = waiting.agents.length;
    if (principal.kind === 'user') {
      return c.html(<NavigationContext.Provider value={{ pendingRequests: 0, awaitingAnswers, user: principal.user.name }}>{content}</NavigationContext.Provider>, status);
    }
    const pendingRequests = (await options.connections.list('PENDING')).filter((connection) => connection.direction === 'incoming').length;
    return c.html(<NavigationContext.Provider value={{ pendingRequests, awaitingAnswers }}>{content}</NavigationContext.Provider>, status);
  };

  const settingsPage = async (c: Context<UiEnv>, form?: SettingsForm, notes: FieldNotes = {}, flash?: string) => {
    const configuration = instance.configuration(await instance.load());
    c.header('Cache-Control', 'no-store');
    return signedInPage(
      c,
      <SettingsPage
        instance={configuration}
        form={form ?? formOf(configuration)}
        notes={notes}
        flash={flash}
        csrf={c.var.csrf}
      />,
      Object.keys(notes).length === 0 ? 200 : 400,
    );
  };

  return new Hono<UiEnv>()
    .use(sameOrigin)
    .use(async (c, next) => {
      await next();
      c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'");
      c.header('Referrer-Policy', 'no-referrer');
    })
    .get('/', (c) => c.redirect('/federation/home', 303))
    .get('/home', signedIn, async (c) => {
      const now = options.now();
      const [record, checks, outbox, failures, connections] = await Promise.all([
        instance.load(),
        runHealthChecks(options.health),
        options.stores.outbox.backlog(now.getTime()),
        agentRows(options, { filter: { status: 'failed' }, show: 'all', cursors: {}, limit: RECENT_FAILURES }),
        options.connections.list(),
      ]);
      c.header('Cache-Control', 'no-store');
      return signedInPage(
      c,
        <HomePage
          instance={instance.configuration(record)}
          checks={checks}
          outbox={outbox}
          failures={failures.rows}
          peerNames={await principalNames(connections)}
          now={now}
          csrf={c.var.csrf}
        />,
      );
    })
    .get('/sign-in', (c) => {
      // Signing in has no session yet: its form is guarded by a token that must match a
      // cookie set with it (a site that cannot read the cookie cannot send the pair).
      const guard = randomToken(18);
      setCookie(c, SIGN_IN_COOKIE, guard, { httpOnly: true, sameSite: 'Strict', path: '/federation/sign-in', maxAge: 3_600 });
      return c.html(<SignInPage guard={guard} />);
    })
    .post('/sign-in', async (c) => {
      const body = await c.req.parseBody();
      const guard = getCookie(c, SIGN_IN_COOKIE);
      if (guard === undefined || body.guard !== guard) {
        throw new FederationError('FORBIDDEN', 'the sign-in form is out of date; open it again and sign in');
      }
      const token = body.token;
      const outcome = typeof token === 'string' && token !== '' ? await authenticateAdmin(options.authenticators, token) : undefined;
      // An admin's token, or a user's: a user's session is theirs, kept to their workspaces.
      const user = outcome?.kind === 'user' ? await userPrincipal(options.stores.people, outcome.userId) : undefined;
      let issued: { value: string };
      if (outcome?.kind === 'admin') issued = await signer.issue(outcome.actor);
      else if (outcome?.kind === 'user' && user !== undefined) issued = await signer.issue(user.actor, outcome.tokenId);
      else return c.html(<SignInPage guard={guard} note="That token does not open this instance. Check it and try again, or create a new one." />, 401);
      const { value } = issued;
      const record = await instance.load();
      setCookie(c, sessionCookieName(record.instanceId), value, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: new URL(record.url).protocol === 'https:',
        path: '/federation',
        maxAge: SESSION_SECONDS,
      });
      return c.redirect(user === undefined ? '/federation/home' : '/federation/agents', 303);
    })
    .post('/sign-out', signedInPerson, async (c) => {
      deleteCookie(c, await cookieName(), { path: '/federation' });
      return c.redirect('/federation/sign-in', 303);
    })
    .get('/settings', signedIn, (c) => settingsPage(c, undefined, {}, c.req.query('saved') === undefined ? flashOf(c.req.query('done')) : 'Your changes are saved.'))
    .post('/settings', signedIn, async (c) => {
      const body = await c.req.parseBody({ all: true });
      const { dto, form, notes } = readSettings(body);
      if (dto === undefined) return settingsPage(c, form, notes);
      await instance.update(dto, c.var.session.actor);
      return c.redirect('/federation/settings?saved', 303);
    })
    .get('/settings/regenerate-keys', signedIn, (c) => signedInPage(c, <RegeneratePage csrf={c.var.csrf} />))
    .post('/settings/regenerate-keys', signedIn, async (c) => {
      await options.regenerateKeys(c.var.session.actor);
      // POST, redirect, GET: reloading the page that says so makes no other key pair.
      return c.redirect('/federation/settings?done=keys', 303);
    })
    .get('/connections', signedIn, async (c) =>
      signedInPage(c, <ConnectionsPage connections={await options.connections.list()} running={await runningHere()} csrf={c.var.csrf} flash={flashOf(c.req.query('done'))} />),
    )
    .post('/connections', signedIn, async (c) => {
      const url = String((await c.req.parseBody()).url ?? '').trim();
      const page = async (note: string) =>
        signedInPage(c, <ConnectionsPage connections={await options.connections.list()} running={await runningHere()} csrf={c.var.csrf} note={note} url={url} />, 400);
      // What is no address at all is said so, and nothing is fetched for it.
      if (!InstanceUrlSchema.safeParse(url).success) return page('An address such as https://federation.example.com fits here.');
      let status: string;
      try {
        ({ status } = await options.connections.connect(url, c.var.session.actor));
      } catch (error) {
        if (!isFederationError(error)) throw error;
        return page(
          error.code === 'VALIDATION_FAILED' && error.message.includes('itself')
            ? 'That address is this instance itself; the address of another instance fits here.'
            : error.code === 'VALIDATION_FAILED'
              ? 'An address such as https://federation.example.com fits here.'
              : 'Nothing at that address answered as a Mosaic Federation instance. Check it, or try again in a moment.',
        );
      }
      // An instance already connected (or one whose allowlist accepts at once) is active now.
      return c.redirect(`/federation/connections?done=${status === 'ACTIVE' ? 'active' : 'requested'}`, 303);
    })
    .get('/connections/:id', signedIn, async (c) => signedInPage(c, await connectionPage(c, c.req.param('id'), {}, flashOf(c.req.query('done')))))
    .post('/connections/:id/:action{accept|reject|disconnect|suspend|resume}', signedIn, async (c) => {
      const action = c.req.param('action') as 'accept' | 'reject' | 'disconnect' | 'suspend' | 'resume';
      await options.connections[action](c.req.param('id'), c.var.session.actor);
      return c.redirect(`/federation/connections?done=${action}`, 303);
    })
    .post('/connections/:id', signedIn, async (c) => {
      const body = await c.req.parseBody({ all: true });
      const list = (name: string) => [body[name] ?? []].flat().filter((value): value is string => typeof value === 'string');
      const number = (name: string) => Number(typeof body[name] === 'string' ? body[name] : Number.NaN);
      const parsed = UpdateGrantsDtoSchema.safeParse({
        allowedCommands: list('allowedCommands'),
        allowedAgentTypes: list('allowedAgentTypes'),
        maxConcurrentAgents: number('maxConcurrentAgents'),
        spawnPerMinute: number('spawnPerMinute'),
        messagesPerMinute: number('messagesPerMinute'),
        repositories: lines(body.repositories),
        egress: lines(body.egress),
        approvals: { plan: body.approvePlan === 'on', commands: lines(body.approvalCommands) ?? [] },
      });
      const id = c.req.param('id');
      if (!parsed.success) {
        const notes: FieldNotes = {};
        for (const issue of parsed.error.issues) {
          const field = String(issue.path[0]);
          notes[field] =
            field === 'repositories'
              ? 'One pattern per line, each a repository address with * or ** in it (such as https://github.com/acme/*), none twice.'
              : field === 'egress'
                ? 'One host per line, a name (such as registry.npmjs.org or *.example.com) or an IP address, with an optional :port, none twice.'
                : field === 'approvals'
                  ? 'One command per line, at most 200 characters each, none twice.'
                  : 'A whole number of 0 or more fits here.';
        }
        return signedInPage(c, await connectionPage(c, id, notes), 400);
      }
      await options.connections.updateGrants(id, parsed.data, c.var.session.actor);
      return c.redirect(`/federation/connections/${id}?done=grants`, 303);
    })
    .get('/audit', signedIn, async (c) => {
      const { form, query, note } = auditQueryOf(c.req.query());
      const page = query === undefined ? { items: [], nextCursor: null } : await options.stores.audit.list(auditListOf({ ...query, limit: AUDIT_PAGE }));
      return signedInPage(c, <AuditPage entries={page.items} nextCursor={page.nextCursor} form={form} note={note} csrf={c.var.csrf} />, note === undefined ? 200 : 400);
    })
    .get('/audit/export', signedIn, async (c) => {
      const { query, note } = auditQueryOf(c.req.query());
      if (query === undefined) return signedInPage(c, <MessagePage title="Nothing to export" message={note ?? ''} signedIn csrf={c.var.csrf} />, 400);
      c.header('Content-Type', 'application/x-ndjson; charset=utf-8');
      c.header('Content-Disposition', 'attachment; filename="audit.jsonl"');
      c.header('Cache-Control', 'no-store');
      // Page by page from the store, so a long log never sits in memory whole.
      return stream(c, async (out) => {
        let cursor: string | undefined;
        do {
          const page = await options.stores.audit.list(auditListOf({ ...query, limit: 500, cursor }));
          if (page.items.length > 0) await out.write(page.items.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined && !out.aborted);
      });
    })
    .get('/tokens', signedIn, async (c) =>
      signedInPage(c, <TokensPage tokens={(await options.stores.adminTokens.list()).map(toAdminToken)} now={options.now()} csrf={c.var.csrf} flash={flashOf(c.req.query('done'))} />),
    )
    .post('/tokens/:id/revoke', signedIn, async (c) => {
      await revokeAdminToken({ store: options.stores.adminTokens, id: c.req.param('id'), actor: c.var.session.actor, now: options.now, generateId: options.generateId });
      return c.redirect('/federation/tokens?done=revoked', 303);
    })
    .get('/a2a-clients', signedIn, async (c) => signedInPage(c, await a2aClientsPage(c, {}, { flash: flashOf(c.req.query('done')) })))
    .post('/a2a-clients', signedIn, async (c) => {
      const body = await c.req.parseBody({ all: true });
      const text = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      const agentTypes = [body.agentTypes ?? []].flat().filter((value): value is string => typeof value === 'string');
      const form: A2AClientForm = { name: text('name'), oidcSubject: text('oidcSubject'), agentTypes, maxConcurrentAgents: text('maxConcurrentAgents'), repositories: text('repositories') };
      const repositories = form.repositories.split('\n').map((line) => line.trim()).filter((line) => line !== '');
      const dto = CreateA2AClientDtoSchema.safeParse({
        name: form.name,
        ...(form.oidcSubject === '' ? {} : { oidcSubject: form.oidcSubject }),
        grants: {
          allowedAgentTypes: agentTypes,
          ...(form.maxConcurrentAgents === '' ? {} : { maxConcurrentAgents: Number(form.maxConcurrentAgents) }),
          ...(repositories.length === 0 ? {} : { repositories }),
        },
      });
      if (!dto.success) {
        const notes: FieldNotes = {};
        for (const issue of dto.error.issues) {
          const field = String(issue.path.at(issue.path[0] === 'grants' ? 1 : 0) ?? 'name');
          notes[field] = A2A_CLIENT_NOTES[field] ?? 'This value could not be used as it is.';
        }
        return signedInPage(c, await a2aClientsPage(c, notes, { form }), 400);
      }
      let issued: A2AClientCreated;
      try {
        issued = await options.a2aClients.create(dto.data, c.var.session.actor);
      } catch (error) {
        if (!isFederationError(error) || error.code !== 'VALIDATION_FAILED') throw error;
        return signedInPage(c, await a2aClientsPage(c, { oidcSubject: 'Another A2A client signs in with this subject.' }, { form }), 400);
      }
      c.header('Cache-Control', 'no-store');
      return signedInPage(c, await a2aClientsPage(c, {}, { issued }), 201);
    })
    .post('/a2a-agents', signedIn, async (c) => {
      const body = await c.req.parseBody();
      const text = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      const dto = AddA2AAgentDtoSchema.safeParse({ url: text('url'), ...(text('token') === '' ? {} : { token: text('token') }) });
      const refuse = (note: string) => a2aClientsPage(c, { [note.startsWith('A token') ? 'a2a-token' : 'a2a-url']: note }, { agentForm: { url: text('url') } });
      if (!dto.success) {
        const token = dto.error.issues.some((issue) => issue.path[0] === 'token');
        return signedInPage(c, await refuse(token ? 'A token of up to 4,096 characters, without spaces, fits here.' : 'The http(s) address of an A2A agent, or of its card, fits here.'), 400);
      }
      try {
        await options.a2aAgents.add(dto.data, c.var.session.actor);
      } catch (error) {
        if (!isFederationError(error) || (error.status >= 500 && error.code !== 'PEER_UNAVAILABLE')) throw error;
        return signedInPage(c, await refuse(`No A2A agent this instance can use answered there: ${error.message.replace(/\.$/, '')}.`), 400);
      }
      return c.redirect('/federation/a2a-clients?done=a2a-agent', 303);
    })
    .post('/a2a-agents/:id/remove', signedIn, async (c) => {
      await options.a2aAgents.remove(c.req.param('id'), c.var.session.actor);
      return c.redirect('/federation/a2a-clients?done=a2a-agent-removed', 303);
    })
    .post('/a2a-clients/:id/revoke', signedIn, async (c) => {
      await options.a2aClients.revoke(c.req.param('id'), c.var.session.actor);
      return c.redirect('/federation/a2a-clients?done=a2a-revoked', 303);
    })
    .get('/people', signedIn, async (c) => signedInPage(c, await peoplePage(c, {}, flashOf(c.req.query('done')))))
    .post('/people/users', signedIn, async (c) => {
      const body = await c.req.parseBody();
      const field = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      const dto = CreateUserDtoSchema.safeParse({ id: field('id'), name: field('name'), ...(field('oidcSubject') === '' ? {} : { oidcSubject: field('oidcSubject') }) });
      if (!dto.success) return signedInPage(c, await peoplePage(c, notesOf(dto.error, 'user')), 400);
      try {
        await options.people.createUser(dto.data, c.var.session.actor);
      } catch (error) {
        if (!isFederationError(error) || error.code !== 'VALIDATION_FAILED') throw error;
        const taken = error.details?.[0]?.path === 'oidcSubject' ? 'user-oidc' : 'user-id';
        return signedInPage(c, await peoplePage(c, { [taken]: taken === 'user-id' ? 'A user has this id already.' : 'Another user has this OIDC subject.' }), 400);
      }
      return c.redirect('/federation/people?done=user', 303);
    })
    .post('/people/workspaces', signedIn, async (c) => {
      const body = await c.req.parseBody();
      const field = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      const dto = CreateWorkspaceDtoSchema.safeParse({ id: field('id'), name: field('name') });
      if (!dto.success) return signedInPage(c, await peoplePage(c, notesOf(dto.error, 'workspace')), 400);
      try {
        await options.people.createWorkspace(dto.data, c.var.session.actor);
      } catch (error) {
        if (!isFederationError(error) || error.code !== 'VALIDATION_FAILED') throw error;
        return signedInPage(c, await peoplePage(c, { 'workspace-id': 'A workspace has this id already.' }), 400);
      }
      return c.redirect(`/federation/workspaces/${dto.data.id}?done=workspace`, 303);
    })
    .get('/workspaces', signedInPerson, async (c) => {
      const principal = c.var.principal;
      if (principal.kind === 'admin') return c.redirect('/federation/people', 303);
      return signedInPage(c, <WorkspacesPage workspaces={await workspacesOf(principal.memberships)} csrf={c.var.csrf} />);
    })
    .get('/workspaces/:id', signedInPerson, async (c) => signedInPage(c, await workspacePage(c, c.req.param('id'), {}, flashOf(c.req.query('done')))))
    .post('/workspaces/:id/members', signedInPerson, async (c) => {
      const id = c.req.param('id');
      workspaceAccess(c.var.principal, id, 'manage');
      const body = await c.req.parseBody();
      const userId = typeof body.userId === 'string' ? body.userId.trim() : '';
      const role = WorkspaceRoleSchema.safeParse(body.role);
      try {
        await options.people.setMember(id, userId, role.success ? role.data : 'member', c.var.session.actor);
      } catch (error) {
        if (!isFederationError(error) || error.code !== 'NOT_FOUND') throw error;
        return signedInPage(c, await workspacePage(c, id, { 'member-user': 'No user has this id: an admin adds users on the People page.' }), 400);
      }
      return c.redirect(`/federation/workspaces/${id}?done=member`, 303);
    })
    .post('/workspaces/:id/members/:userId/remove', signedInPerson, async (c) => {
      const id = c.req.param('id');
      workspaceAccess(c.var.principal, id, 'manage');
      await options.people.removeMember(id, c.req.param('userId'), c.var.session.actor);
      return c.redirect(`/federation/workspaces/${id}?done=member-removed`, 303);
    })
    .post('/workspaces/:id/connections', signedIn, async (c) => {
      const id = c.req.param('id');
      const body = await c.req.parseBody({ all: true });
      const chosen = ([] as unknown[]).concat(body.connectionIds ?? []).filter((value): value is string => typeof value === 'string');
      const dto = UpdateWorkspaceDtoSchema.safeParse({ connectionIds: body.every === 'on' ? null : chosen });
      if (!dto.success) throw new FederationError('VALIDATION_FAILED', 'those are not connections of this instance');
      await options.people.updateWorkspace(id, dto.data, c.var.session.actor);
      return c.redirect(`/federation/workspaces/${id}?done=workspace-connections`, 303);
    })
    .get('/agents', signedInPerson, async (c) => {
      const query = agentListQueryOf(c.req.query());
      return signedInPage(c, await agentsPage(c, undefined, undefined, query), query.note === undefined ? 200 : 400);
    })
    .post('/agents', signedInPerson, async (c) => {
      const body = await c.req.parseBody();
      const text = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      const form: SpawnForm = {
        ...(text('workspaceId') === '' ? {} : { workspaceId: text('workspaceId') }),
        connectionId: text('connectionId'),
        agentType: text('agentType'),
        taskId: text('taskId'),
        repository: text('repository'),
        branch: text('branch'),
        instructions: text('instructions'),
        approvePlan: text('approval') === 'plan',
      };
      const payload = AgentSpawnPayloadSchema.safeParse({
        taskId: form.taskId,
        agentType: form.agentType,
        context: { repository: form.repository, branch: form.branch, instructions: form.instructions },
        ...(form.approvePlan === true ? { options: { approval: 'plan' } } : {}),
      });
      if (!payload.success) {
        const fields = [...new Set(payload.error.issues.map((issue) => SPAWN_FIELD_WORDS[String(issue.path.at(-1))] ?? 'form'))];
        const note = `${sentenceCase(listInWords(fields))} ${fields.length === 1 ? 'needs' : 'need'} another look: a task id of letters, digits and . _ : -, a repository address and a branch name fit here.`;
        return signedInPage(c, await agentsPage(c, note, form), 400);
      }
      const key = IdempotencyKeySchema.safeParse(text('idempotencyKey'));
      try {
        const owner = await spawnAccess(c.var.principal, { connectionId: form.connectionId, workspaceId: form.workspaceId }, options.stores.people);
        const { agentId } = await options.agents.spawn(form.connectionId, payload.data, c.var.session.actor, {
          idempotencyKey: key.success ? key.data : undefined,
          owner,
          signal: spawnDeadline(c),
        });
        return c.redirect(`/federation/agents/${agentId}`, 303);
      } catch (error) {
        // A refusal (the peer's grants, its limits, its capabilities) keeps the form as it was.
        if (!isFederationError(error) || error.status >= 500) throw error;
        const note = `The agent did not start: ${error.message.replace(/\.$/, '')}. The form is as you left it.`;
        return signedInPage(c, await agentsPage(c, note, form), error.status as 400);
      }
    })
    .post('/agents/refresh', signedInPerson, async (c) => {
      const body = await c.req.parseBody({ all: true });
      const ids = AgentStatusesDtoSchema.safeParse({ agentIds: [body.agentIds ?? []].flat().filter((value): value is string => typeof value === 'string') });
      if (!ids.success) return c.redirect('/federation/agents', 303);
      const { notFound } = await options.agents.statuses(ids.data.agentIds, c.var.principal);
      return c.redirect(`/federation/agents?done=${notFound.length === 0 ? 'refreshed' : 'refreshed-some'}`, 303);
    })
    .get('/agents/:id', signedInPerson, async (c) => {
      const principal = c.var.principal;
      const agent = await options.agents.get(c.req.param('id'), principal);
      // The transcript lives with the peer that runs the agent: asked for as the page loads,
      // and the page still shows the status when the peer cannot answer.
      const transcript = await options.agents.transcript(agent.agentId, { limit: TRANSCRIPT_PAGE }, principal).catch((error: unknown) => {
        options.logger.warn("could not read an agent's transcript from its peer", { agentId: agent.agentId, ...describeError(error) });
        return undefined;
      });
      const [delivery, events, connection, a2aAgent] = await Promise.all([
        options.deliveries.get(agent.agentId).catch(() => undefined),
        options.stores.remoteAgents.events(agent.agentId, 0),
        options.stores.connections.get(agent.connectionId),
        options.stores.a2aAgents.get(agent.connectionId),
      ]);
      // The timeline: each status change the peer sent, in order (the spawn answer's first).
      const timeline = events.map((event) => ({ status: event.status, attempt: event.attempt, at: stateTime(event) }));
      if (timeline.at(0)?.status !== 'spawning') timeline.unshift({ status: 'spawning', attempt: 1, at: agent.status.spawnedAt });
      return signedInPage(
      c,
        <AgentPage
          status={agent.status}
          timeline={timeline}
          transcript={transcript}
          delivery={delivery}
          peerName={connection?.peerName ?? (a2aAgent === undefined ? 'a former peer' : a2aName(a2aAgent))}
          canStop={mayAct(principal, agent)}
          sequence={agent.sequence}
          csrf={c.var.csrf}
          flash={flashOf(c.req.query('done'))}
        />,
      );
    })
    .get('/agents/:id/patch', signedInPerson, async (c) => patchDownload(c, (await options.agents.get(c.req.param('id'), c.var.principal)).status))
    .get('/hosted/:id', signedIn, async (c) => {
      const agent = await options.hosted.get(c.req.param('id'));
      const [transcript, connection] = await Promise.all([
        options.hosted.transcript(agent.agentId, TRANSCRIPT_PAGE).catch((error: unknown) => {
          options.logger.warn("could not read an agent's transcript from the orchestrator", { agentId: agent.agentId, ...describeError(error) });
          return undefined;
        }),
        agent.via === 'a2a' ? options.a2aClients.get(agent.connectionId).catch(() => undefined) : options.stores.connections.get(agent.connectionId),
      ]);
      const forWhom =
        connection === undefined ? (agent.via === 'a2a' ? 'a former A2A client' : 'a former peer') : 'peerName' in connection ? connection.peerName : `A2A client ${connection.name}`;
      // What this instance knows of a hosted agent's moves: the times its status holds.
      const { status } = agent;
      const timeline: TimelineEntry[] = [{ status: 'spawning', attempt: 1, at: status.spawnedAt }];
      if (status.startedAt !== null) timeline.push({ status: 'running', attempt: status.attempt, at: status.startedAt });
      if (status.status !== 'spawning' && status.status !== 'running') timeline.push({ status: status.status, attempt: status.attempt, at: status.completedAt });
      return signedInPage(
      c,
        <AgentPage status={status} timeline={timeline} transcript={transcript} peerName={forWhom} hosted onBehalfOf={agent.actor} csrf={c.var.csrf} flash={flashOf(c.req.query('done'))} />,
      );
    })
    .get('/hosted/:id/patch', signedIn, async (c) => patchDownload(c, (await options.hosted.get(c.req.param('id'))).status))
    .post('/hosted/:id/kill', signedIn, async (c) => {
      await options.hosted.stopAgent(c.req.param('id'), c.var.session.actor);
      return c.redirect(`/federation/hosted/${c.req.param('id')}?done=stopped`, 303);
    })
    .get('/agents/:id/bundle', signedInPerson, async (c) => {
      const { ref, data } = await options.agents.bundle(c.req.param('id'), c.var.principal);
      return c.body(data, 200, bundleHeaders(ref));
    })
    .get('/agents/:id/events', signedInPerson, (c) => streamAgentEvents(c, c.req.param('id'), options, c.var.principal))
    .post('/agents/:id/kill', signedInPerson, async (c) => {
      await options.agents.kill(c.req.param('id'), c.var.session.actor, c.var.principal);
      return c.redirect(`/federation/agents/${c.req.param('id')}?done=stopped`, 303);
    })
    .post('/agents/:id/respond', signedInPerson, async (c) => {
      const body = await c.req.parseBody();
      const text = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      const answer = parseOrThrow(ApprovalAnswerSchema, {
        approvalId: text('approvalId'),
        decision: text('decision'),
        ...(text('note') === '' ? {} : { note: text('note') }),
      }, 'answer');
      await options.agents.respond(c.req.param('id'), answer, c.var.session.actor, c.var.principal);
      return c.redirect(`/federation/agents/${c.req.param('id')}?done=${answer.decision === 'approve' ? 'approved' : 'not-approved'}`, 303);
    })
    .onError((error, c) => {
      const known = isFederationError(error) ? error : undefined;
      if (known === undefined) options.logger.error('a page failed', describeError(error));
      const status = known !== undefined && known.status < 500 ? known.status : 500;
      const message =
        known?.code === 'FORBIDDEN'
          ? known.message
          : known?.code === 'NOT_FOUND'
            ? 'There is nothing here. It may have been removed, or the address is not quite right.'
            : known !== undefined && status < 500
              ? `The peer or this instance said: ${known.message}.`
              : 'Something on this instance went wrong; its log has the details. Trying again may help.';
      // Signed in, the page keeps its navigation; unless this instance failed (its stores
      // may be what failed), or the session is what was refused.
      if (c.get('session') !== undefined && status < 500 && known?.code !== 'FORBIDDEN') {
        return signedInPage(c, <MessagePage title="That did not work out" message={message} signedIn csrf={c.var.csrf} />, status as 400);
      }
      return c.html(<MessagePage title="That did not work out" message={message} />, status as 400);
    });

  /** A connection's page: its grants, and what its agents here run and used today. */
  async function connectionPage(c: Context<UiEnv>, id: string, notes: FieldNotes, flash?: string) {
    const connection = toConnection(await options.connections.get(id));
    const usage = await options.hosted.usageToday(id);
    return <ConnectionPage connection={connection} running={usage.running} usage={usage} csrf={c.var.csrf} notes={notes} flash={flash} />;
  }

  /** Agents running here for peers, by connection. */
  async function runningHere(): Promise<Map<string, number>> {
    const running = new Map<string, number>();
    for (const agent of await options.stores.hostedAgents.listActive()) running.set(agent.connectionId, (running.get(agent.connectionId) ?? 0) + 1);
    return running;
  }

  async function agentsPage(c: Context<UiEnv>, note?: string, form?: SpawnForm, query = agentListQueryOf(c.req.query())) {
    const principal = c.var.principal;
    const [page, connections, workspaces] = await Promise.all([
      query.filter === undefined
        ? { rows: [], next: null }
        : agentRows(options, { filter: query.filter, show: query.form.show, cursors: query.cursors, limit: AGENTS_PAGE, workspaceIds: visibleWorkspaces(principal) }),
      options.connections.list(),
      actingWorkspaces(principal),
    ]);
    const list = { form: query.form, ...page, note: query.note };
    // A user starts agents on the connections one of their workspaces may use.
    const peers = connections.filter(
      (connection) => connection.status === 'ACTIVE' && (workspaces?.some((w) => w.connectionIds === null || w.connectionIds.includes(connection.id)) ?? true),
    );
    const admin = principal.kind === 'admin';
    const [names, a2aAgents] = admin ? await Promise.all([principalNames(connections), options.a2aAgents.list()]) : [undefined, undefined];
    return (
      <AgentsPage
        list={list}
        peers={peers}
        a2aAgents={a2aAgents}
        allPeers={connections}
        names={names}
        csrf={c.var.csrf}
        note={note}
        form={form}
        workspaces={workspaces}
        flash={flashOf(c.req.query('done'))}
      />
    );
  }

  async function a2aClientsPage(
    c: Context<UiEnv>,
    notes: FieldNotes,
    shown: { form?: A2AClientForm; agentForm?: { url: string }; issued?: { client: A2AClient; token: string }; flash?: string | undefined },
  ) {
    const [clients, agents, record] = await Promise.all([options.a2aClients.list(), options.a2aAgents.list(), instance.load()]);
    return (
      <A2AClientsPage
        clients={clients}
        agents={agents}
        agentForm={shown.agentForm}
        agentTypes={record.capabilities.agentTypes}
        cardUrl={`${record.url}${A2A_PATHS.card}`}
        csrf={c.var.csrf}
        notes={notes}
        form={shown.form}
        issued={shown.issued}
        flash={shown.flash}
      />
    );
  }

  /**
   * Who each agent is for or on, by the id its rows carry: a connection's peer, or an A2A
   * client (named so), for the lists and pages of agents.
   */
  async function principalNames(connections: readonly Connection[]): Promise<Map<string, string>> {
    const [clients, a2aAgents] = await Promise.all([options.a2aClients.list(), options.stores.a2aAgents.list()]);
    return new Map([
      ...connections.map((connection) => [connection.id, connection.peerName] as const),
      ...clients.map((client) => [client.id, `A2A client ${client.name}`] as const),
      ...a2aAgents.map((agent) => [agent.id, a2aName(agent)] as const),
    ]);
  }

  async function peoplePage(c: Context<UiEnv>, notes: FieldNotes, flash?: string) {
    const [users, workspaces] = await Promise.all([options.people.listUsers(), options.people.listWorkspaces()]);
    const withMembers = await Promise.all(workspaces.map(async (workspace) => ({ workspace, members: await options.people.members(workspace.id) })));
    c.header('Cache-Control', 'no-store');
    return <PeoplePage users={users} workspaces={withMembers} csrf={c.var.csrf} notes={notes} flash={flash} />;
  }

  /** A workspace's page: its members to see (any member) or manage (its owners, the admins); for admins, its connections too. */
  async function workspacePage(c: Context<UiEnv>, id: string, notes: FieldNotes, flash?: string) {
    const principal = c.var.principal;
    workspaceAccess(principal, id, 'see');
    const [workspace, members, connections] = await Promise.all([
      options.people.workspace(id),
      options.people.members(id),
      principal.kind === 'admin' ? options.connections.list() : undefined,
    ]);
    const manages = principal.kind === 'admin' || principal.memberships.some((m) => m.workspaceId === id && m.role === 'owner');
    return <WorkspacePage workspace={workspace} members={members} manages={manages} connections={connections} csrf={c.var.csrf} notes={notes} flash={flash} />;
  }

  /** The workspaces of some memberships, with the role in each (a workspace no more is left out). */
  async function workspacesOf(memberships: readonly Membership[]): Promise<{ workspace: Workspace; role: WorkspaceRole }[]> {
    const found = await Promise.all(memberships.map(async ({ workspaceId, role }) => ({ workspace: await options.stores.people.getWorkspace(workspaceId), role })));
    return found.flatMap(({ workspace, role }) => (workspace === undefined ? [] : [{ workspace, role }]));
  }

  /** The workspaces a user starts agents in (as a member or owner); `undefined` for an admin. */
  async function actingWorkspaces(principal: Principal): Promise<Workspace[] | undefined> {
    if (principal.kind === 'admin') return undefined;
    const acting = await workspacesOf(principal.memberships.filter((membership) => ACTING_ROLES.includes(membership.role)));
    return acting.map(({ workspace }) => workspace);
  }
}

/** An agent's patch as a file to save, or `NOT_FOUND` when it has none. */
function patchDownload(c: Context, status: AgentStatus): Response {
  const patch = status.result?.patch;
  if (patch === undefined) throw new FederationError('NOT_FOUND', 'this agent has no patch');
  return c.body(patch, 200, {
    'Content-Type': 'text/x-diff; charset=utf-8',
    'Content-Disposition': `attachment; filename="${status.taskId}.patch"`,
    'Cache-Control': 'no-store',
  });
}

/** Notes beside the fields of a people form (`user-id`, `workspace-name`, ...) that did not fit. */
/** An A2A agent as the lists name it. */
function a2aName(agent: Pick<A2AAgent, 'name'>): string {
  return `${agent.name} (A2A)`;
}

/** Calm words for a field of the new A2A client form. */
const A2A_CLIENT_NOTES: Record<string, string> = {
  name: 'A name of 1 to 100 characters fits here.',
  oidcSubject: 'A subject of up to 255 characters fits here.',
  allowedAgentTypes: 'Tick the agents it may start.',
  maxConcurrentAgents: 'A whole number from 0 to 10,000 fits here.',
  repositories: 'One pattern per line, each a repository address with * or ** in it (such as https://github.com/acme/*), none twice.',
};

function notesOf(error: ZodError, form: 'user' | 'workspace'): FieldNotes {
  const words: Record<string, string> = {
    id: 'An id of 1 to 64 of a to z, digits and . _ -, starting and ending with a letter or digit, fits here.',
    name: 'A name of 1 to 100 characters fits here.',
    oidcSubject: 'A subject of up to 255 characters fits here.',
  };
  const notes: FieldNotes = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? 'id');
    notes[`${form}-${field === 'oidcSubject' ? 'oidc' : field}`] = words[field] ?? 'This value could not be used as it is.';
  }
  return notes;
}

/** The spawn form's fields in the words its labels use. */
const SPAWN_FIELD_WORDS: Record<string, string> = {
  taskId: 'the task id',
  agentType: 'the kind of agent',
  repository: 'the repository',
  branch: 'the branch',
  instructions: 'the instructions',
};


const sentenceCase = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The calm line shown after an action, by the `done` query parameter. */
function flashOf(done: string | undefined): string | undefined {
  const lines: Record<string, string> = {
    requested: 'The request is on its way. The connection becomes active once the other instance accepts it.',
    accept: 'The connection is active.',
    active: 'The connection with that instance is active.',
    reject: 'The request is declined.',
    disconnect: 'The connection is closed on both sides.',
    suspend: 'The connection is paused here; the peer\'s messages are answered again once you resume it.',
    resume: 'The connection is active again.',
    grants: 'What this peer may do is saved.',
    stopped: 'The agent is stopped.',
    approved: 'Approved: the agent goes on.',
    'not-approved': 'Not approved: the agent reads your note and goes on without it.',
    user: 'The user is added. A token for them comes from mosaic-fed token create --user, or the API.',
    workspace: 'The workspace is made. Add its members below.',
    member: 'The membership is saved.',
    'member-removed': 'They are out of the workspace: its agents are no longer theirs to see.',
    'workspace-connections': 'The connections are saved.',
    revoked: 'The token is revoked: nothing can sign in with it any more.',
    'a2a-revoked': "The A2A client is revoked: its token no longer opens anything.",
    'a2a-agent': 'The A2A agent is added: start agents on it from the agents page.',
    refreshed: 'The peers said where their agents are: the list shows it.',
    'refreshed-some': 'The peers said where their agents are; some agents they no longer know keep the state last heard.',
    'a2a-agent-removed': 'The A2A agent is removed. The agents started on it stay in the lists as they were.',
    keys: 'A new key pair is in use, and connected peers have been told.',
  };
  return done === undefined ? undefined : lines[done];
}

function formOf(configuration: InstanceConfiguration): SettingsForm {
  return {
    name: configuration.name,
    capabilities: configuration.capabilities,
    metadata: JSON.stringify(configuration.metadata, null, 2),
  };
}

/** The settings form as a DTO, or the notes on what it could not use. */
function readSettings(body: Record<string, string | File | (string | File)[]>): { dto?: UpdateInstanceDto; form: SettingsForm; notes: FieldNotes } {
  const text = (name: string) => (typeof body[name] === 'string' ? body[name] : '');
  const list = (name: string) => [body[name] ?? []].flat().filter((value): value is string => typeof value === 'string');
  const capabilities: Capabilities = {
    supportsQuery: text('supportsQuery') === 'on',
    supportsCommand: text('supportsCommand') === 'on',
    supportsEvent: text('supportsEvent') === 'on',
    supportsAgentSpawn: text('supportsAgentSpawn') === 'on',
    agentTypes: list('agentTypes') as Capabilities['agentTypes'],
    maxConcurrentAgents: Number(text('maxConcurrentAgents')),
  };
  const form: SettingsForm = { name: text('name'), capabilities, metadata: text('metadata') };
  let metadata: unknown;
  try {
    metadata = JSON.parse(text('metadata') || '{}');
  } catch {
    return { form, notes: { metadata: FIELD_NOTES.metadata } };
  }
  const parsed = UpdateInstanceDtoSchema.safeParse({ name: form.name, capabilities, metadata });
  if (parsed.success) return { dto: parsed.data, form, notes: {} };
  const notes: FieldNotes = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path.at(0) === 'capabilities' ? issue.path.at(1) : issue.path.at(0));
    notes[field] = FIELD_NOTES[field] ?? 'This value could not be used as it is; a different one may fit.';
  }
  return { form, notes };
}

/** A field of one entry per line (repositories, egress); empty is the instance's own policy (`null`). */
function lines(value: string | File | (string | File)[] | undefined): string[] | null {
  const lines = typeof value === 'string' ? value.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '') : [];
  return lines.length === 0 ? null : lines;
}
