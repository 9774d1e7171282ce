// The agents pages of the web UI: start an agent on a peer, watch it live, read its
// result, stop it; and the agents running here for peers.
import type { AgentDelivery, AgentOutcome, AgentStatus, AgentsOverview, AgentTranscriptResponse, AgentUsage, Connection, TranscriptEntry } from '@mosaic-fed/core';
import { DIALOG_SCRIPT, Layout } from './layout.js';

const AGENT_WORDS: Record<AgentStatus['status'], string> = {
  spawning: 'starting',
  running: 'working',
  completed: 'done',
  failed: 'ended without a result',
  killed: 'stopped',
};

/** What the spawn form held, given back with a note when it could not start the agent. */
export interface SpawnForm {
  connectionId: string;
  agentType: string;
  taskId: string;
  repository: string;
  branch: string;
  instructions: string;
}

const AGENT_KINDS = [
  ['worker', 'worker: changes the branch'],
  ['reviewer', 'reviewer: reviews the branch'],
  ['tester', 'tester: runs the tests'],
] as const;

export function AgentsPage(props: { overview: AgentsOverview; peers: Connection[]; csrf: string; note?: string | undefined; form?: SpawnForm | undefined }) {
  const { overview } = props;
  const form = props.form;
  return (
    <Layout title="Agents" signedIn csrf={props.csrf}>
      <h1>Agents</h1>
      <section aria-labelledby="spawn">
        <h2 id="spawn">Start an agent on a peer</h2>
        {props.peers.length === 0 ? (
          <p>
            An agent runs on a connected peer. <a href="/federation/connections">Connect to one</a> first.
          </p>
        ) : (
          <form method="post" action="/federation/agents">
            <input type="hidden" name="csrf" value={props.csrf} />
            {/* PROTOCOL 6: a form sent twice (a double click, a resend) starts one agent. */}
            <input type="hidden" name="idempotencyKey" value={crypto.randomUUID()} />
            <label for="connectionId">Peer</label>
            <select id="connectionId" name="connectionId">
              {props.peers.map((peer) => (
                <option value={peer.id} selected={form?.connectionId === peer.id}>
                  {peer.peerName}
                </option>
              ))}
            </select>
            <label for="agentType">Kind of agent</label>
            <select id="agentType" name="agentType">
              {AGENT_KINDS.map(([value, words]) => (
                <option value={value} selected={form?.agentType === value}>
                  {words}
                </option>
              ))}
            </select>
            <label for="taskId">Task id</label>
            <input id="taskId" name="taskId" placeholder="fix-login-test" value={form?.taskId ?? ''} />
            <label for="repository">Repository</label>
            <input id="repository" name="repository" placeholder="git.example.com/org/repo" value={form?.repository ?? ''} />
            <label for="branch">Branch</label>
            <input id="branch" name="branch" value={form?.branch ?? 'main'} />
            <label for="instructions">Instructions</label>
            <textarea id="instructions" name="instructions" rows={4}>
              {form?.instructions ?? ''}
            </textarea>
            {props.note === undefined ? null : <p class="note" role="status">{props.note}</p>}
            <button type="submit">Start the agent</button>
          </form>
        )}
      </section>
      <section aria-labelledby="sent">
        <h2 id="sent">Agents you started on peers</h2>
        {overview.sent.items.length === 0 ? (
          <p>None yet.</p>
        ) : (
          <ul>
            {overview.sent.items.map((agent) => (
              <li>
                <a href={`/federation/agents/${agent.agentId}`}>{agent.taskId}</a> ({agent.agentType}): {AGENT_WORDS[agent.status.status]}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="hosted">
        <h2 id="hosted">Agents running here for peers</h2>
        {overview.hosted.items.length === 0 ? (
          <p>None yet.</p>
        ) : (
          <ul>
            {overview.hosted.items.map((agent) => (
              <li>
                {agent.status.taskId} ({agent.status.agentType}): {AGENT_WORDS[agent.status.status]}
              </li>
            ))}
          </ul>
        )}
      </section>
    </Layout>
  );
}

/** What each outcome means, in the words the page uses. */
const OUTCOME_WORDS: Record<AgentOutcome, string> = {
  succeeded: 'Succeeded: the work is done and every check it ran passed.',
  'no-changes': 'No changes: the agent changed nothing.',
  'checks-failing': 'Checks failing: a check the agent ran failed the last time it ran.',
  unchecked: 'Unchecked: the agent ran no test, build or lint to check its work.',
};

/** Every input token of a run, cached or not. */
function inputTokens(usage: AgentUsage): number {
  return usage.inputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheCreationInputTokens ?? 0);
}

/** The agent's steps, as its peer recorded them; `undefined` when the peer could not be asked. */
function TranscriptSection(props: { agentId: string; transcript: AgentTranscriptResponse | undefined }) {
  const { transcript } = props;
  return (
    <section aria-labelledby="transcript">
      <h2 id="transcript">What the agent did</h2>
      {transcript === undefined ? (
        <p>The peer running this agent did not answer just now, so its steps cannot be shown. Reload the page to ask again.</p>
      ) : transcript.entries.length === 0 ? (
        <p>No steps yet.</p>
      ) : (
        <>
          <ol id="agent-transcript" class="transcript">
            {transcript.entries.map((entry) => (
              <TranscriptItem entry={entry} />
            ))}
          </ol>
          {transcript.nextCursor === null ? null : (
            <p>
              These are the first {transcript.entries.length} steps. The rest are in the API:{' '}
              <code>
                GET /api/v1/federation/agents/{props.agentId}/transcript?cursor={transcript.nextCursor}
              </code>
            </p>
          )}
        </>
      )}
    </section>
  );
}

function TranscriptItem(props: { entry: TranscriptEntry }) {
  const { entry } = props;
  const label = entry.kind === 'tool' ? (entry.tool === 'bash' ? 'Ran' : 'Edited or read') : entry.kind === 'text' ? 'Said' : 'Note';
  return (
    <li data-kind={entry.kind} data-error={entry.isError === true ? 'true' : undefined}>
      <p>
        <strong>{label}</strong> <span class="quiet">turn {entry.turn}{entry.attempt > 1 ? `, attempt ${entry.attempt}` : ''}</span>
      </p>
      {entry.kind === 'tool' ? <pre>{entry.input}</pre> : <p>{entry.input}</p>}
      {entry.output === undefined ? null : (
        <details>
          <summary>{entry.isError === true ? 'It failed: see why' : 'What it answered'}</summary>
          <pre>{entry.output}</pre>
        </details>
      )}
    </li>
  );
}

/** Where a delivery stands, in a sentence. */
function deliveryWords(delivery: AgentDelivery): string {
  switch (delivery.state) {
    case 'delivered':
      return `Delivered to the branch ${delivery.branch} of the repository${delivery.pullRequest === null ? '' : `, with pull request #${delivery.pullRequest.number} (${delivery.pullRequest.url})`}.`;
    case 'waiting':
      return delivery.error === null
        ? `This instance pushes them to the branch ${delivery.branch} of the repository in a moment.`
        : `The branch ${delivery.branch} is not pushed yet; another try follows. The last one said: ${delivery.error}.`;
    case 'failed':
      return `The branch ${delivery.branch} could not be pushed after ${delivery.attempts} tries: ${delivery.error ?? 'no reason was given'}.`;
    case 'skipped':
      return `Nothing was pushed: ${delivery.error ?? 'there was nothing to deliver'}.`;
  }
}

export function AgentPage(props: {
  status: AgentStatus;
  transcript?: AgentTranscriptResponse | undefined;
  delivery?: AgentDelivery | undefined;
  csrf: string;
  flash?: string | undefined;
}) {
  const { status } = props;
  const live = !['completed', 'failed', 'killed'].includes(status.status);
  return (
    <Layout title={status.taskId} signedIn csrf={props.csrf}>
      <h1>{status.taskId}</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      <dl>
        <dt>State</dt>
        <dd id="agent-status" data-status={status.status} aria-live="polite">
          {AGENT_WORDS[status.status]}
        </dd>
        <dt>Attempt</dt>
        <dd id="agent-attempt">{String(status.attempt)}</dd>
        <dt>Last step</dt>
        <dd id="agent-progress">{status.progress?.lastAction ?? '—'}</dd>
        {status.error === null ? null : (
          <>
            <dt>Why it ended</dt>
            <dd>{status.error}</dd>
          </>
        )}
      </dl>
      {status.result === null ? null : (
        <section aria-labelledby="result">
          <h2 id="result">Result</h2>
          {status.result.outcome === undefined ? null : (
            <p id="agent-outcome" data-outcome={status.result.outcome}>
              {OUTCOME_WORDS[status.result.outcome]}
            </p>
          )}
          <p>{status.result.summary}</p>
          {status.result.checks === undefined ? null : (
            <>
              <h3>Checks it ran</h3>
              <ul id="agent-checks">
                {status.result.checks.map((check) => (
                  <li>
                    <code>{check.command}</code> {check.timedOut === true ? 'ran out of time' : check.exitCode === 0 ? 'passed' : `failed (exit code ${check.exitCode})`}
                  </li>
                ))}
              </ul>
            </>
          )}
          {status.result.patch === undefined ? null : (
            <>
              <h3>Patch</h3>
              <pre id="agent-patch">{status.result.patch}</pre>
            </>
          )}
          {status.result.bundle === undefined ? null : (
            <>
              <h3>Commits</h3>
              <p>
                On the branch <code>{status.result.bundle.branch}</code>, from <code>{status.result.bundle.base.slice(0, 12)}</code>:{' '}
                <a href={`/federation/agents/${status.agentId}/bundle`} download>
                  download them as a git bundle
                </a>{' '}
                ({Math.ceil(status.result.bundle.bytes / 1024)} KiB; <code>git fetch</code> takes it in a clone of the repository).
              </p>
              {props.delivery === undefined ? null : <p id="agent-delivery">{deliveryWords(props.delivery)}</p>}
            </>
          )}
          {status.result.usage === undefined ? null : (
            <p>
              {inputTokens(status.result.usage)} input tokens ({status.result.usage.cacheReadInputTokens ?? 0} of them read from the prompt cache) and{' '}
              {status.result.usage.outputTokens} output tokens.
            </p>
          )}
        </section>
      )}
      <TranscriptSection agentId={status.agentId} transcript={props.transcript} />
      {live ? (
        <>
          <button type="button" data-open-dialog="kill">
            Stop this agent…
          </button>
          <dialog id="kill" aria-labelledby="kill-title">
            <form method="post" action={`/federation/agents/${status.agentId}/kill`}>
              <h2 id="kill-title">Stop this agent?</h2>
              <p>The peer stops its work and removes its sandbox. What it did so far is not kept.</p>
              <input type="hidden" name="csrf" value={props.csrf} />
              <button type="submit">Stop the agent</button>{' '}
              <button type="submit" formmethod="dialog" class="quiet">
                Let it continue
              </button>
            </form>
          </dialog>
          <script dangerouslySetInnerHTML={{ __html: LIVE_SCRIPT(status.agentId) }} />
        </>
      ) : null}
      <p>
        <a href="/federation/agents">Back to the agents</a>
      </p>
    </Layout>
  );
}

// Follows the agent's events (the same stream as the API, with this session) and reloads
// the page when it ends, so the result shows; and opens the stop confirmation.
const LIVE_SCRIPT = (agentId: string) => `
const words = ${JSON.stringify(AGENT_WORDS)};
const source = new EventSource('/federation/agents/${agentId}/events');
// A form being sent (stopping the agent) leads to the next page: no reload in its way.
document.addEventListener('submit', () => source.close());
source.addEventListener('agent.status.changed', (message) => {
  const event = JSON.parse(message.data);
  const status = document.getElementById('agent-status');
  status.textContent = words[event.status];
  status.dataset.status = event.status;
  document.getElementById('agent-attempt').textContent = String(event.attempt);
  document.getElementById('agent-progress').textContent = (event.progress && event.progress.lastAction) || '—';
  if (['completed', 'failed', 'killed'].includes(event.status)) { source.close(); location.reload(); }
});
${DIALOG_SCRIPT}`;
