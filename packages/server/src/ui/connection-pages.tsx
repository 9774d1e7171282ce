// The connections pages of the web UI: connect, accept or decline, pause, resume or
// disconnect, and what each peer may do here.
import type { Connection } from '@mosaic-fed/core';
import { GRANTABLE_TYPES } from '@mosaic-fed/core';
import { Layout, utcTime, type FieldNotes } from './layout.js';

const STATUS_WORDS: Record<Connection['status'], string> = {
  PENDING: 'waiting for an answer',
  ACTIVE: 'active',
  SUSPENDED: 'paused here',
  DISCONNECTED: 'disconnected',
  REJECTED: 'declined',
};

/** The connection's state in words: an active one the peer refuses messages on says so. */
function stateOf(connection: Connection): string {
  if (connection.status === 'ACTIVE' && connection.peerPausedAt !== undefined) {
    return `active here, but paused by the peer: it declined a message at ${utcTime(connection.peerPausedAt)} UTC`;
  }
  return STATUS_WORDS[connection.status];
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

export function ConnectionsPage(props: { connections: Connection[]; csrf: string; flash?: string | undefined; note?: string | undefined; url?: string }) {
  return (
    <Layout title="Connections" signedIn csrf={props.csrf}>
      <h1>Connections</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
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
        {props.connections.length === 0 ? (
          <p>No connections yet. The form above starts one.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Peer</th>
                <th scope="col">State</th>
                <th scope="col">What you can do</th>
              </tr>
            </thead>
            <tbody>
              {props.connections.map((connection) => (
                <tr>
                  <td>
                    <a href={`/federation/connections/${connection.id}`}>{connection.peerName}</a>
                    <br />
                    <code>{connection.peerUrl}</code>
                    <AddressCheck connection={connection} />
                  </td>
                  <td>
                    {stateOf(connection)} ({connection.direction === 'incoming' ? 'they asked' : 'you asked'})
                  </td>
                  <td>
                    {actionsOf(connection).map(([action, label]) => (
                      <form method="post" action={`/federation/connections/${connection.id}/${action}`} class="inline">
                        <input type="hidden" name="csrf" value={props.csrf} />
                        <button type="submit" class="quiet">{label}</button>{' '}
                      </form>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  );
}

export function ConnectionPage(props: { connection: Connection; csrf: string; notes: FieldNotes; flash?: string | undefined }) {
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
      <AddressCheck connection={connection} />
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
        <button type="submit">Save what this peer may do</button>
      </form>
      <p>
        <a href="/federation/connections">Back to the connections</a>
      </p>
    </Layout>
  );
}
