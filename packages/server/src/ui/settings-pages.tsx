// The settings pages of the web UI: the instance's identity, name, capabilities and
// metadata, and a new key pair.
import type { InstanceConfiguration } from '@mosaic-fed/core';
import { utcTime } from '../lib/times.js';
import { Badge, DIALOG_SCRIPT, Layout, type FieldNotes } from './layout.js';

export interface SettingsForm {
  name: string;
  capabilities: InstanceConfiguration['capabilities'];
  metadata: string;
}

export function SettingsPage(props: {
  instance: InstanceConfiguration;
  form: SettingsForm;
  notes: FieldNotes;
  flash?: string | undefined;
  csrf: string;
}) {
  const { instance, form, notes } = props;
  const key = instance.keys[0]?.publicJwk;
  const keyText = key === undefined ? '' : JSON.stringify(key);
  const noteFor = (field: string) =>
    notes[field] === undefined ? null : (
      <p id={`${field}-note`} class="note">
        {notes[field]}
      </p>
    );
  const describedBy = (field: string) => (notes[field] === undefined ? undefined : `${field}-note`);
  const capability = (name: keyof InstanceConfiguration['capabilities'], label: string) => (
    <label class="check">
      <input type="checkbox" name={name} value="on" checked={form.capabilities[name] === true} /> {label}
    </label>
  );
  return (
    <Layout title="Settings" signedIn csrf={props.csrf}>
      <h1>Settings</h1>
      {props.flash === undefined ? null : (
        <p class="flash" role="status">
          {props.flash}
        </p>
      )}
      {Object.keys(notes).length === 0 ? null : (
        <p class="flash" role="status">
          A few values need another look; the notes beside them say how.
        </p>
      )}

      <section aria-labelledby="identity">
        <h2 id="identity">This instance</h2>
        <dl>
          <dt>Instance id</dt>
          <dd>
            <code>{instance.instanceId}</code>
          </dd>
          <dt>Address</dt>
          <dd>
            <code>{instance.url}</code>
          </dd>
          <dt>Public key</dt>
          <dd>
            <code title={keyText}>{key === undefined ? '' : `${key.kid.slice(0, 12)}…`}</code>{' '}
            <button type="button" class="quiet" data-copy={keyText}>
              Copy the public key
            </button>
          </dd>
        </dl>
      </section>

      <section aria-labelledby="configuration">
        <h2 id="configuration">Name, capabilities and metadata</h2>
        <form method="post" action="/federation/settings">
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="name">Name</label>
          <input id="name" name="name" value={form.name} aria-describedby={describedBy('name')} />
          {noteFor('name')}

          <fieldset>
            <legend>What peers may ask of this instance</legend>
            {capability('supportsQuery', 'Queries, such as listing their agents')}
            {capability('supportsCommand', 'Commands, such as status and kill')}
            {capability('supportsEvent', 'Events, such as agent status changes')}
            {capability('supportsAgentSpawn', 'Spawning agents here')}
          </fieldset>
          <fieldset>
            <legend>Agent types this instance runs</legend>
            {(['worker', 'reviewer', 'tester'] as const).map((type) => (
              <label class="check">
                <input type="checkbox" name="agentTypes" value={type} checked={form.capabilities.agentTypes.includes(type)} /> {type}
              </label>
            ))}
          </fieldset>
          <label for="maxConcurrentAgents">Agents at once</label>
          <input
            id="maxConcurrentAgents"
            name="maxConcurrentAgents"
            type="number"
            min="0"
            max="10000"
            value={String(form.capabilities.maxConcurrentAgents)}
            aria-describedby={describedBy('maxConcurrentAgents')}
          />
          {noteFor('maxConcurrentAgents')}

          <label for="metadata">Public metadata (JSON)</label>
          <textarea id="metadata" name="metadata" rows={5} aria-describedby={`metadata-help ${describedBy('metadata') ?? ''}`.trim()}>
            {form.metadata}
          </textarea>
          <p id="metadata-help" class="help">
            Everything here is shown to peers in the instance document, such as <code>{'{"region": "eu-west"}'}</code>.
          </p>
          {noteFor('metadata')}
          <button type="submit">Save the settings</button>
        </form>
      </section>

      <section aria-labelledby="keys">
        <h2 id="keys">Signing key</h2>
        <KeyTable keys={instance.keys} />
        <p>
          A new key pair can be made at any time. Connected peers are told with a certificate signed by the current key, so they
          keep working without pairing again; the current key stays valid for a day.
        </p>
        <button type="button" data-open-dialog="regenerate">
          Make a new key pair…
        </button>
        <noscript>
          <p>
            <a href="/federation/settings/regenerate-keys">Make a new key pair</a>
          </p>
        </noscript>
        <dialog id="regenerate" aria-labelledby="regenerate-title">
          <RegenerateForm csrf={props.csrf} />
        </dialog>
      </section>
      <script dangerouslySetInnerHTML={{ __html: SCRIPT }} />
    </Layout>
  );
}

/** The instance's keys: the current one first, then those peers still accept for a while (PROTOCOL 4). */
function KeyTable(props: { keys: InstanceConfiguration['keys'] }) {
  return (
    <table class="stack" id="signing-keys">
      <thead>
        <tr>
          <th scope="col">Key id</th>
          <th scope="col">Made (UTC)</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {props.keys.map((key, index) => (
          <tr data-kid={key.publicJwk.kid}>
            <td data-label="Key id">
              <code>{key.publicJwk.kid}</code>
            </td>
            <td data-label="Made (UTC)">{utcTime(key.createdAt)}</td>
            <td data-label="State">
              {index === 0 ? (
                <>
                  <Badge tone="good">current</Badge> signs every message
                </>
              ) : (
                <>
                  <Badge tone="quiet">previous</Badge>
                  {key.expiresAt === null ? ' still accepted' : ` accepted until ${utcTime(key.expiresAt)} UTC`}
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The confirmation of a key regeneration: in the dialog, or a page of its own without JavaScript. */
export function RegenerateForm(props: { csrf: string }) {
  return (
    <form method="post" action="/federation/settings/regenerate-keys">
      <h2 id="regenerate-title">Make a new key pair?</h2>
      <p>
        Peers will see a new key first in this instance's document, and a rotation certificate that links it to the current one.
        Peers that are online learn of it straight away; others follow the certificate when they next hear from this instance.
      </p>
      <input type="hidden" name="csrf" value={props.csrf} />
      <button type="submit">Make the new key pair</button>{' '}
      <button type="submit" formmethod="dialog" formaction="/federation/settings" class="quiet" value="cancel">
        Keep the current key
      </button>
    </form>
  );
}

export function RegeneratePage(props: { csrf: string }) {
  return (
    <Layout title="New key pair" signedIn csrf={props.csrf}>
      <RegenerateForm csrf={props.csrf} />
      <p>
        <a href="/federation/settings">Back to the settings</a>
      </p>
    </Layout>
  );
}

// Small progressive enhancement: the dialog and the copy button. Everything works without it.
const SCRIPT = `${DIALOG_SCRIPT}
document.querySelectorAll('[data-copy]').forEach((button) => {
  button.addEventListener('click', async () => {
    await navigator.clipboard.writeText(button.dataset.copy);
    button.textContent = 'Copied';
  });
});
`;
