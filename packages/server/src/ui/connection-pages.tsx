// The connections pages of the web UI: connect, accept or decline, pause, resume or
// disconnect, and what each peer may do here.
import type { Connection, EstimatedCost, WorkspaceGrants } from '@mosaic-fed/core';
import { costInWords, GRANTABLE_TYPES } from '@mosaic-fed/core';
import { utcTime } from '../lib/times.js';
import { Badge, ConfirmButton, DIALOG_SCRIPT, Layout, type BadgeTone, type FieldNotes } from './layout.js';

const STATUS_WORDS: Record<Connection['status'], string> = {
  PENDING: 'waiting for an answer',
  ACTIVE: 'active',
  SUSPENDED: 'paused here',
  DISCONNECTED: 'disconnected',
  REJECTED: 'declined',
};

const STATUS_TONES: Record<Connection['status'], BadgeTone> = {
  PENDING: 'busy',
  ACTIVE: 'good',
  SUSPENDED: 'quiet',
  DISCONNECTED: 'quiet',
  REJECTED: 'quiet',
};

/** What the state's word leaves out: an active connection the peer refuses messages on. */
function stateDetail(connection: Connection): string {
  return connection.status === 'ACTIVE' && connection.peerPausedAt !== undefined
    ? `here, but paused by the peer: it declined a message at ${utcTime(connection.peerPausedAt)} UTC`
    : '';
}

/** When the peer was last heard from, in words. */
function lastSeen(connection: Connection): string {
  return connection.peerSeenAt === undefined ? 'not heard from yet' : `last heard from ${utcTime(connection.peerSeenAt)} UTC`;
}

/** The connection's state in words: an active one the peer refuses messages on says so. */
function stateOf(connection: Connection): string {
  const detail = stateDetail(connection);
  return detail === '' ? STATUS_WORDS[connection.status] : `${STATUS_WORDS[connection.status]} ${detail}`;
}

/**
 * Whether the address a peer gave is its own (PROTOCOL 3, step 2): a request's URL is only
 * a claim until the instance there names the same instance with the same keys.
 */
function AddressCheck(props: { connection: Connection }) {
  if (props.connection.direction === 'outgoing') return null;
  return props.connection.peerUrlVouches ? (
    <p class="help">The instance at this address confirms it sent the request.</p>
  ) : (
    <p class="note">The instance at this address does not confirm this request: it may come from somewhere else.</p>
  );
}

/** The actions a connection offers in its state: [action, button label]. */
function actionsOf(connection: Connection): [string, string][] {
  switch (connection.status) {
    case 'PENDING':
      return connection.direction === 'incoming' ? [['accept', 'Accept'], ['reject', 'Decline']] : [['disconnect', 'Withdraw the request']];
    case 'ACTIVE':
      return [['suspend', 'Pause'], ['disconnect', 'Disconnect']];
    case 'SUSPENDED':
      return [['resume', 'Resume'], ['disconnect', 'Disconnect']];
    default:
      return [];
  }
}

/** A connection whose story is over: shown folded away, below the others. */
const ended = (connection: Connection) => connection.status === 'DISCONNECTED' || connection.status === 'REJECTED';

function ConnectionRows(props: { connections: Connection[]; running: Map<string, number>; csrf: string }) {
  return (
    <table class="stack">
      <thead>
        <tr>
          <th scope="col">Peer</th>
          <th scope="col">State</th>
          <th scope="col">Its agents here</th>
          <th scope="col">What you can do</th>
        </tr>
      </thead>
      <tbody>
        {props.connections.map((connection) => (
          <tr data-connection={connection.id}>
            <td data-label="Peer">
              <a href={`/federation/connections/${connection.id}`}>{connection.peerName}</a>
              <br />
              <code>{connection.peerUrl}</code>
              <br />
              <span class="quiet">
                id <code>{connection.peerInstanceId}</code>
              </span>
              <AddressCheck connection={connection} />
            </td>
            <td data-label="State">
              <Badge tone={STATUS_TONES[connection.status]}>{STATUS_WORDS[connection.status]}</Badge> {stateDetail(connection)}
              <br />
              <span class="quiet">
                {connection.direction === 'incoming' ? 'they asked' : 'you asked'}, {utcTime(connection.createdAt)} UTC
              </span>
              <br />
              <span class="quiet" data-last-seen>
                {lastSeen(connection)}
              </span>
            </td>
            <td data-label="Its agents here">
              {props.running.get(connection.id) ?? 0} running of at most {connection.grants.maxConcurrentAgents}
            </td>
            <td data-label="What you can do">
              {actionsOf(connection).map(([action, label]) =>
                action === 'disconnect' && connection.status !== 'PENDING' ? (
                  <DisconnectButton connection={connection} csrf={props.csrf} />
                ) : (
                  <form method="post" action={`/federation/connections/${connection.id}/${action}`} class="inline">
                    <input type="hidden" name="csrf" value={props.csrf} />
                    <button type="submit" class="quiet">
                      {label}
                    </button>{' '}
                  </form>
                ),
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Disconnecting ends the connection on both sides for good: it asks first. */
function DisconnectButton(props: { connection: Connection; csrf: string }) {
  return (
    <ConfirmButton
      id={`disconnect-${props.connection.id}`}
      label="Disconnect…"
      title={`Disconnect from ${props.connection.peerName}?`}
      action={`/federation/connections/${props.connection.id}/disconnect`}
      submit="Disconnect"
      keep="Keep the connection"
      csrf={props.csrf}
    >
      <p>
        The connection ends on both sides: neither instance obeys the other's messages any more. Connecting again takes a new request that the
        other instance accepts.
      </p>
    </ConfirmButton>
  );
}

export function ConnectionsPage(props: {
  connections: Connection[];
  /** Agents running here for each connection, by its id. */
  running: Map<string, number>;
  csrf: string;
  flash?: string | undefined;
  note?: string | undefined;
  url?: string;
}) {
  const current = props.connections.filter((connection) => !ended(connection));
  const over = props.connections.filter(ended);
  const pending = current.filter((connection) => connection.status === 'PENDING' && connection.direction === 'incoming').length;
  return (
    <Layout title="Connections" signedIn csrf={props.csrf}>
      <h1>Connections</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      {pending === 0 ? null : (
        <p id="pending-requests" class="note">
          {pending === 1 ? 'One instance asks' : `${pending} instances ask`} to connect: accept or decline below.
        </p>
      )}
      <section aria-labelledby="connect">
        <h2 id="connect">Connect to another instance</h2>
        <form method="post" action="/federation/connections">
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="url">Its address</label>
          <input id="url" name="url" type="url" placeholder="https://federation.example.com" value={props.url ?? ''} aria-describedby={props.note === undefined ? 'url-help' : 'url-help url-note'} />
          <p id="url-help" class="help">That instance's admins see the request and can accept it.</p>
          {props.note === undefined ? null : <p id="url-note" class="note">{props.note}</p>}
          <button type="submit">Send the request</button>
        </form>
      </section>
      <section aria-labelledby="list">
        <h2 id="list">All connections</h2>
        {current.length === 0 ? <p>No connections yet. The form above starts one.</p> : <ConnectionRows connections={current} running={props.running} csrf={props.csrf} />}
        {over.length === 0 ? null : (
          <details id="ended-connections">
            <summary>Ended connections ({over.length})</summary>
            <ConnectionRows connections={over} running={props.running} csrf={props.csrf} />
          </details>
        )}
      </section>
      <script dangerouslySetInnerHTML={{ __html: DIALOG_SCRIPT }} />
    </Layout>
  );
}

/** `a`, `a and b`, `a, b and c`. */
export function listInWords(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** What the grants narrow for one of the peer's workspaces, in a sentence. */
function workspaceGrantsInWords(workspace: string, narrowed: WorkspaceGrants): string {
  const parts = [
    narrowed.allowedAgentTypes === undefined ? undefined : narrowed.allowedAgentTypes.length === 0 ? 'no agents' : `${listInWords(narrowed.allowedAgentTypes)} agents only`,
    narrowed.maxConcurrentAgents === undefined ? undefined : `at most ${narrowed.maxConcurrentAgents} at once`,
    narrowed.repositories === undefined ? undefined : `repositories matching ${listInWords(narrowed.repositories)} only`,
  ].filter((part) => part !== undefined);
  return `For its workspace ${workspace}: ${parts.length === 0 ? 'the same as above' : listInWords(parts)}.`;
}

/** What a connection's grants allow, a sentence each. */
function GrantsInWords(props: { connection: Connection; running: number; usage: UsageToday }) {
  const { grants } = props.connection;
  return (
    <ul id="grants-in-words">
      <li>
        {grants.allowedAgentTypes.length === 0
          ? 'It may start no agents here.'
          : `It may start ${listInWords(grants.allowedAgentTypes)} agents here, at most ${grants.maxConcurrentAgents} at once and ${grants.spawnPerMinute} a minute; ${props.running} running now.`}
      </li>
      <li>
        {grants.allowedCommands.length === 0 ? 'It may send no commands or queries.' : `It may send ${listInWords(grants.allowedCommands)}`}
        {grants.allowedCommands.length === 0 ? '' : `, up to ${grants.messagesPerMinute} messages a minute.`}
      </li>
      <li>
        {grants.repositories === null || grants.repositories === undefined
          ? "Its agents may fetch the repositories this instance's own policy allows."
          : `Its agents may fetch repositories matching ${listInWords(grants.repositories)}.`}
      </li>
      <li>
        {grants.egress === null || grants.egress === undefined
          ? "Their sandboxes reach only what this instance's own egress rules allow."
          : `Their sandboxes may also reach ${listInWords(grants.egress)}.`}
      </li>
      <li id="approval-rules">{approvalRulesInWords(grants.approvals)}</li>
      {Object.entries(grants.workspaces ?? {}).map(([workspace, narrowed]) => (
        <li data-workspace={workspace}>{workspaceGrantsInWords(workspace, narrowed)}</li>
      ))}
      <li id="tokens-today">
        Its agents here used {props.usage.tokens.toLocaleString('en')} model tokens today (UTC)
        {grants.tokensPerDay === undefined ? '' : ` of the ${grants.tokensPerDay.toLocaleString('en')} it may use a day`}
        {props.usage.estimatedCost === undefined ? '' : ` (${costInWords(props.usage.estimatedCost)} by this instance's prices)`}, and ran{' '}
        {props.usage.agentMinutes.toLocaleString('en')} minutes{grants.agentMinutesPerDay === undefined ? '' : ` of ${grants.agentMinutesPerDay.toLocaleString('en')} a day`}.
      </li>
    </ul>
  );
}

/** A connection's approval rules (PROTOCOL 5, Approvals) in a sentence. */
function approvalRulesInWords(rules: Connection['grants']['approvals']): string {
  const commands = rules?.commands ?? [];
  const held = commands.length === 0 ? '' : `commands starting with ${listInWords(commands.map((rule) => (rule === '@network' ? 'anything that reaches the network' : rule)))}`;
  if (rules?.plan === true) return `Each of its agents proposes its plan and waits for the peer's approval${held === '' ? '' : `, and so do ${held}`}.`;
  return held === '' ? 'Its agents wait for approval only when the peer asks for it.' : `Its agents wait for the peer's approval before ${held}.`;
}

/** What a connection's agents here used today (`HostedAgents.usageToday`). */
interface UsageToday {
  tokens: number;
  agentMinutes: number;
  estimatedCost?: EstimatedCost | undefined;
}

export function ConnectionPage(props: {
  connection: Connection;
  running: number;
  usage: UsageToday;
  csrf: string;
  notes: FieldNotes;
  flash?: string | undefined;
}) {
  const { connection, notes } = props;
  const number = (name: 'maxConcurrentAgents' | 'spawnPerMinute' | 'messagesPerMinute', label: string) => (
    <>
      <label for={name}>{label}</label>
      <input id={name} name={name} type="number" min="0" value={String(connection.grants[name])} aria-describedby={notes[name] === undefined ? undefined : `${name}-note`} />
      {notes[name] === undefined ? null : <p id={`${name}-note`} class="note">{notes[name]}</p>}
    </>
  );
  return (
    <Layout title={connection.peerName} signedIn csrf={props.csrf}>
      <h1>{connection.peerName}</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      <p>
        <code>{connection.peerUrl}</code>, {stateOf(connection)}.
      </p>
      <p class="quiet">
        Its instance id: <code>{connection.peerInstanceId}</code>; <span id="last-seen">{lastSeen(connection)}</span>.
      </p>
      <AddressCheck connection={connection} />
      <h2>In short</h2>
      <GrantsInWords connection={connection} running={props.running} usage={props.usage} />
      <h2>What this peer may do here</h2>
      <form method="post" action={`/federation/connections/${connection.id}`}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <fieldset>
          <legend>Commands and queries</legend>
          {GRANTABLE_TYPES.map((type) => (
            <label class="check">
              <input type="checkbox" name="allowedCommands" value={type} checked={connection.grants.allowedCommands.includes(type)} /> {type}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Agent types</legend>
          {(['worker', 'reviewer', 'tester'] as const).map((type) => (
            <label class="check">
              <input type="checkbox" name="allowedAgentTypes" value={type} checked={connection.grants.allowedAgentTypes.includes(type)} /> {type}
            </label>
          ))}
        </fieldset>
        {number('maxConcurrentAgents', 'Agents at once')}
        {number('spawnPerMinute', 'Spawns per minute')}
        {number('messagesPerMinute', 'Messages per minute')}
        <label for="repositories">Repositories its agents may fetch</label>
        <textarea id="repositories" name="repositories" rows={3} aria-describedby="repositories-note">
          {(connection.grants.repositories ?? []).join('\n')}
        </textarea>
        <p id="repositories-note" class="note">
          {notes.repositories ?? "One pattern per line, such as https://github.com/acme/*: * stands for one part of the path, ** for any. Left empty, this instance's own policy applies (by default any public https host)."}
        </p>
        <label for="egress">Hosts its agents' sandboxes may reach</label>
        <textarea id="egress" name="egress" rows={3} aria-describedby="egress-note">
          {(connection.grants.egress ?? []).join('\n')}
        </textarea>
        <p id="egress-note" class="note">
          {notes.egress ?? "One host per line, such as registry.npmjs.org, *.pythonhosted.org or files.example.com:8443 (without a port: 443 and 80), reached through this instance's egress proxy, beside this instance's own egress rules. Left empty, this instance's own rules alone; by default a sandbox reaches no network."}
        </p>
        <fieldset>
          <legend>Approvals</legend>
          <label class="check">
            <input type="checkbox" name="approvePlan" value="on" checked={connection.grants.approvals?.plan === true} /> Every agent proposes its plan and waits for the peer's approval
          </label>
          <label for="approvalCommands">Commands that wait for the peer's approval</label>
          <textarea id="approvalCommands" name="approvalCommands" rows={3} aria-describedby="approvalCommands-note">
            {(connection.grants.approvals?.commands ?? []).join('\n')}
          </textarea>
          <p id="approvalCommands-note" class="note">
            {notes.approvals ??
              'One per line: the words a command starts with, * for any text (git push, npm install*), or @network for anything that reaches the network. A person on the peer approves each before it runs. It keeps a willing agent asking; the sandbox and its egress rules are what hold one that is not.'}
          </p>
        </fieldset>
        <button type="submit">Save what this peer may do</button>
      </form>
      <p>
        <a href="/federation/connections">Back to the connections</a>
      </p>
    </Layout>
  );
}
