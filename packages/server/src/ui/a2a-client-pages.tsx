// The A2A clients page of the web UI (docs/protocol.md, "A2A"): the agent clients that
// speak A2A to this instance, what each may do, and a form that issues a new one its
// token, shown on the page that answers the form and never again.
import type { A2AAgent, A2AClient, AgentType } from '@mosaic-fed/core';
import { utcTime } from '../lib/times.js';
import { Badge, ConfirmButton, DIALOG_SCRIPT, Layout, Note, type FieldNotes } from './layout.js';

/** What the new-client form held, to show it again with a note. */
export interface A2AClientForm {
  name: string;
  oidcSubject: string;
  agentTypes: string[];
  maxConcurrentAgents: string;
  repositories: string;
}

/** A client's grants in words: what it may start, how many at once, where. */
function grantsInWords(client: A2AClient): string {
  const { grants } = client;
  const types = grants.allowedAgentTypes.length === 0 ? 'no agents' : `${grants.allowedAgentTypes.join(', ')} agents`;
  const where = grants.repositories === undefined ? "the instance's repositories" : grants.repositories.join(', ');
  return `${types}, ${grants.maxConcurrentAgents} at once, on ${where}`;
}

export function A2AClientsPage(props: {
  clients: A2AClient[];
  /** A2A agents elsewhere this instance starts agents on. */
  agents: A2AAgent[];
  /** What the add-an-agent form held, to show it again with a note. */
  agentForm?: { url: string } | undefined;
  agentTypes: readonly AgentType[];
  cardUrl: string;
  csrf: string;
  notes: FieldNotes;
  form?: A2AClientForm | undefined;
  /** A client just issued, with its token: shown this once. */
  issued?: { client: A2AClient; token: string } | undefined;
  flash?: string | undefined;
}) {
  const form = props.form;
  const checked = (type: AgentType) => (form === undefined ? true : form.agentTypes.includes(type));
  return (
    <Layout title="A2A" signedIn csrf={props.csrf}>
      <h1>A2A</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      {props.issued === undefined ? null : (
        <section class="flash" role="status" aria-labelledby="issued">
          <h2 id="issued">The token of {props.issued.client.name}</h2>
          <p>Copy it now: it is shown this once, and only its hash is kept.</p>
          <p>
            <code data-token>{props.issued.token}</code>
          </p>
        </section>
      )}
      <section aria-labelledby="a2a-agents">
        <h2 id="a2a-agents">A2A agents this instance uses</h2>
        <p>Agents elsewhere that speak A2A 1.0: start agents on them from the agents page, as on a peer, and watch and stop them there.</p>
        {props.agents.length === 0 ? (
          <p>None yet. The form below adds one by its address.</p>
        ) : (
          <ul>
            {props.agents.map((agent) => (
              <li data-a2a-agent={agent.id}>
                {agent.name} at <code>{agent.endpoint}</code> ({agent.binding}
                {agent.sendsToken ? ', with its token' : ''}){' '}
                <form method="post" action={`/federation/a2a-agents/${agent.id}/remove`} class="inline">
                  <input type="hidden" name="csrf" value={props.csrf} />
                  <button type="submit" class="quiet">
                    Remove
                  </button>
                </form>
              </li>
            ))}
          </ul>
        )}
        <form method="post" action="/federation/a2a-agents">
          <h3>Add an A2A agent</h3>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="a2a-url">Its address, or its card's</label>
          <input id="a2a-url" name="url" placeholder="https://agents.example.com" value={props.agentForm?.url ?? ''} />
          <Note field="a2a-url" notes={props.notes} />
          <label for="a2a-token">The token it gave this instance, if it asks for one</label>
          <input id="a2a-token" name="token" type="password" autocomplete="off" />
          <Note field="a2a-token" notes={props.notes} />
          <button type="submit">Add the agent</button>
        </form>
      </section>
      <h2>A2A clients</h2>
      <p>
        Agent clients that speak A2A 1.0 start and watch agents here as peers do, within the grants you give each one. They find this instance at{' '}
        <a href={props.cardUrl}>
          <code>{props.cardUrl}</code>
        </a>{' '}
        and send their token as <code>Authorization: Bearer</code>.
      </p>
      {props.clients.length === 0 ? (
        <p>No A2A clients yet. The form below issues one its token.</p>
      ) : (
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">May start</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
              <th scope="col">What you can do</th>
            </tr>
          </thead>
          <tbody>
            {props.clients.map((client) => (
              <tr data-a2a-client={client.id}>
                <td data-label="Client">
                  {client.name}
                  <br />
                  <span class="quiet">
                    id <code>{client.id}</code>, issued {utcTime(client.createdAt)} UTC
                    {client.oidcSubject === undefined ? '' : `, signs in with OIDC as ${client.oidcSubject} too`}
                  </span>
                </td>
                <td data-label="May start">{grantsInWords(client)}</td>
                <td data-label="Last used">{client.lastUsedAt === null ? 'not yet' : `${utcTime(client.lastUsedAt)} UTC`}</td>
                <td data-label="State">
                  {client.revokedAt === null ? <Badge tone="good">in use</Badge> : <Badge tone="quiet">revoked</Badge>}
                  {client.revokedAt === null ? '' : ` ${utcTime(client.revokedAt)} UTC`}
                </td>
                <td data-label="What you can do">
                  {client.revokedAt === null ? (
                    <ConfirmButton
                      id={`revoke-${client.id}`}
                      label="Revoke…"
                      title={`Revoke “${client.name}”?`}
                      action={`/federation/a2a-clients/${client.id}/revoke`}
                      submit="Revoke the client"
                      keep="Keep it"
                      csrf={props.csrf}
                    >
                      <p>Its requests are refused at once, on every replica. Agents it started run on until they end or you stop them.</p>
                    </ConfirmButton>
                  ) : (
                    <span class="quiet">nothing: its token no longer opens anything</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form method="post" action="/federation/a2a-clients">
        <h3>Issue a client its token</h3>
        <input type="hidden" name="csrf" value={props.csrf} />
        <label for="a2a-name">Its name</label>
        <input id="a2a-name" name="name" placeholder="Release bot" value={form?.name ?? ''} />
        <Note field="name" notes={props.notes} />
        <label for="a2a-oidc">The OIDC subject it may sign in as, if it has one</label>
        <input id="a2a-oidc" name="oidcSubject" placeholder="the sub of its access tokens" value={form?.oidcSubject ?? ''} />
        <Note field="oidcSubject" notes={props.notes} />
        <fieldset>
          <legend>Agents it may start</legend>
          {props.agentTypes.map((type) => (
            <label>
              <input type="checkbox" name="agentTypes" value={type} checked={checked(type)} /> {type}
            </label>
          ))}
        </fieldset>
        <Note field="allowedAgentTypes" notes={props.notes} />
        <label for="a2a-concurrency">How many of its agents may run at once</label>
        <input id="a2a-concurrency" name="maxConcurrentAgents" inputmode="numeric" placeholder="the instance's" value={form?.maxConcurrentAgents ?? ''} />
        <Note field="maxConcurrentAgents" notes={props.notes} />
        <label for="a2a-repositories">Repositories its agents may fetch</label>
        <textarea id="a2a-repositories" name="repositories" rows={3} placeholder="https://github.com/acme/*" aria-describedby="a2a-repositories-help">
          {form?.repositories ?? ''}
        </textarea>
        <p id="a2a-repositories-help" class="help">
          One pattern per line; none: the instance's repository policy. Budgets, rates and approvals are set through the API.
        </p>
        <Note field="repositories" notes={props.notes} />
        <button type="submit">Issue the token</button>
      </form>
      <script dangerouslySetInnerHTML={{ __html: DIALOG_SCRIPT }} />
    </Layout>
  );
}
