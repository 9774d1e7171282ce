// The agents pages of the web UI: start an agent on a peer, watch it live, read its
// result, stop it; and the agents running here for peers.
import { costInWords, inputTokensOf, isTerminalState, tokensOf, usageOf, type A2AAgent, type Actor, type AgentDelivery, type AgentOutcome, type AgentStatus, type AgentTranscriptResponse, type AgentUsage, type Connection, type TranscriptEntry } from '@mosaic-fed/core';
import type { AgentListCursors, AgentRow } from '../agents/overview.js';
import type { AgentListForm } from './agent-list.js';
import { durationInWords, utcTime } from '../lib/times.js';
import { actorInWords, Badge, DIALOG_SCRIPT, Layout, type BadgeTone } from './layout.js';

const AGENT_WORDS: Record<AgentStatus['status'], string> = {
  spawning: 'starting',
  running: 'working',
  waiting: 'waiting for an answer',
  completed: 'done',
  failed: 'ended without a result',
  killed: 'stopped',
};

/** What the spawn form held, given back with a note when it could not start the agent. */
export interface SpawnForm {
  /** A user's: the workspace the agent is for. */
  workspaceId?: string;
  connectionId: string;
  agentType: string;
  taskId: string;
  repository: string;
  branch: string;
  instructions: string;
  /** Whether the agent proposes its plan and waits for approval before it acts. */
  approvePlan?: boolean;
}

const AGENT_KINDS = [
  ['worker', 'worker: changes the branch'],
  ['reviewer', 'reviewer: reviews the branch'],
  ['tester', 'tester: runs the tests'],
] as const;

/** The agents view's filters, its page, and where the next page starts. */
export interface AgentListView {
  form: AgentListForm;
  rows: AgentRow[];
  next: AgentListCursors | null;
  note?: string | undefined;
}

const filtered = (form: AgentListForm) => form.peer !== '' || form.status !== '' || form.type !== '' || form.task !== '' || form.show !== 'all';

/** The query string of the page after this one: the same filters, each list's cursor. */
function nextQuery(form: AgentListForm, next: AgentListCursors): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) if (value !== '' && value !== 'all') query.set(name, value);
  if (next.sent !== undefined) query.set('sent', next.sent);
  if (next.hosted !== undefined) query.set('hosted', next.hosted);
  return query.toString();
}


/** An agent's state as a badge: its word, and a tone that colour only repeats. */
export function AgentBadge(props: { status: AgentStatus['status'] }) {
  return <Badge tone={AGENT_TONES[props.status]}>{AGENT_WORDS[props.status]}</Badge>;
}

const AGENT_TONES: Record<AgentStatus['status'], BadgeTone> = {
  spawning: 'busy',
  running: 'busy',
  waiting: 'busy',
  completed: 'good',
  failed: 'bad',
  killed: 'quiet',
};

/** One filter of the agents view: a labelled choice of [value, words], led by "any" (the empty value) unless `noAny`. */
function FilterChoice(props: { name: keyof AgentListForm; label: string; value: string; choices: readonly (readonly [string, string])[]; noAny?: boolean }) {
  const choices = props.noAny === true ? props.choices : [['', 'any'] as const, ...props.choices];
  return (
    <div>
      <label for={`filter-${props.name}`}>{props.label}</label>
      <select id={`filter-${props.name}`} name={props.name}>
        {choices.map(([value, words]) => (
          <option value={value} selected={props.value === value}>
            {words}
          </option>
        ))}
      </select>
    </div>
  );
}

function AgentFilters(props: { form: AgentListForm; peers: Connection[] }) {
  const { form } = props;
  return (
    <form method="get" action="/federation/agents" class="filters" aria-label="Filter the agents">
      <FilterChoice
        name="show"
        label="Show"
        value={form.show}
        noAny
        choices={[
          ['all', 'all agents'],
          ['sent', 'started here, on peers'],
          ['hosted', 'running here, for peers'],
        ]}
      />
      <FilterChoice name="peer" label="Peer" value={form.peer} choices={props.peers.map((peer) => [peer.id, peer.peerName] as const)} />
      <FilterChoice name="status" label="State" value={form.status} choices={Object.entries(AGENT_WORDS)} />
      <FilterChoice name="type" label="Kind" value={form.type} choices={AGENT_KINDS.map(([value]) => [value, value] as const)} />
      <div>
        <label for="filter-task">Task</label>
        <input id="filter-task" name="task" value={form.task} />
      </div>
      <button type="submit">Filter</button>
    </form>
  );
}

export function AgentsPage(props: {
  list: AgentListView;
  /** Peers an agent can be started on now. */
  peers: Connection[];
  /** A2A agents an admin can start agents on too. */
  a2aAgents?: readonly A2AAgent[] | undefined;
  /** Every connection, for the names of the peers in the list and its filter. */
  allPeers: Connection[];
  /** Names by the id of a row's connection or A2A client; the connections' peer names when left out. */
  names?: ReadonlyMap<string, string> | undefined;
  flash?: string | undefined;
  csrf: string;
  note?: string | undefined;
  form?: SpawnForm | undefined;
  /** A user's page: the workspaces they may start agents in (an admin's agents are the instance's own). */
  workspaces?: readonly { id: string; name: string }[] | undefined;
}) {
  const form = props.form;
  const peerNames = props.names ?? new Map(props.allPeers.map((peer) => [peer.id, peer.peerName]));
  return (
    <Layout title="Agents" signedIn csrf={props.csrf}>
      <h1>Agents</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      <section aria-labelledby="spawn">
        <h2 id="spawn">Start an agent on a peer</h2>
        {props.workspaces?.length === 0 ? (
          <p>You watch the agents of your workspaces here. Starting one takes a member's place in a workspace: its owner or an admin can give you one.</p>
        ) : props.peers.length === 0 && (props.a2aAgents ?? []).length === 0 ? (
          props.workspaces === undefined ? (
            <p>
              An agent runs on a connected peer. <a href="/federation/connections">Connect to one</a> first.
            </p>
          ) : (
            <p>Your workspaces have no peer to start agents on yet: an admin connects one.</p>
          )
        ) : (
          <form method="post" action="/federation/agents">
            <input type="hidden" name="csrf" value={props.csrf} />
            {/* PROTOCOL 6: a form sent twice (a double click, a resend) starts one agent. */}
            <input type="hidden" name="idempotencyKey" value={crypto.randomUUID()} />
            {props.workspaces === undefined ? null : (
              <>
                <label for="workspaceId">Workspace</label>
                <select id="workspaceId" name="workspaceId">
                  {props.workspaces.map((workspace) => (
                    <option value={workspace.id} selected={form?.workspaceId === workspace.id}>
                      {workspace.name}
                    </option>
                  ))}
                </select>
              </>
            )}
            <label for="connectionId">Peer</label>
            <select id="connectionId" name="connectionId">
              {props.peers.map((peer) => (
                <option value={peer.id} selected={form?.connectionId === peer.id}>
                  {peer.peerName}
                </option>
              ))}
              {(props.a2aAgents ?? []).length === 0 ? null : (
                <optgroup label="A2A agents">
                  {(props.a2aAgents ?? []).map((agent) => (
                    <option value={agent.id} selected={form?.connectionId === agent.id}>
                      {agent.name} (A2A)
                    </option>
                  ))}
                </optgroup>
              )}
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
            <label class="check">
              <input type="checkbox" name="approval" value="plan" checked={form?.approvePlan === true} aria-describedby="approval-note" /> Ask me to approve its plan first
            </label>
            <p id="approval-note" class="help">
              The agent reads the repository, proposes what it will do, and waits: nothing runs and no file changes until you approve the plan on its page.
            </p>
            {props.note === undefined ? null : <p class="note" role="status">{props.note}</p>}
            <button type="submit">Start the agent</button>
          </form>
        )}
      </section>
      <section aria-labelledby="all-agents">
        <h2 id="all-agents">All agents</h2>
        <AgentFilters form={props.list.form} peers={props.allPeers} />
        {props.list.note === undefined ? null : <p class="note" role="status">{props.list.note}</p>}
        {props.list.rows.length === 0 ? (
          <p>{filtered(props.list.form) ? 'No agent fits these filters.' : 'None yet. An agent you start, or one a peer starts here, shows up in this list.'}</p>
        ) : (
          <table id="agents" class="stack">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Where</th>
                <th scope="col">State</th>
                <th scope="col">Spawned</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
                <th scope="col">Took</th>
                <th scope="col" class="num">Tokens</th>
              </tr>
            </thead>
            <tbody>
              {props.list.rows.map((row) => (
                <tr data-agent={row.agentId} data-direction={row.direction}>
                  <td data-label="Task">
                    <a href={`/federation/${row.direction === 'sent' ? 'agents' : 'hosted'}/${row.agentId}`}>{row.status.taskId}</a>
                    <br />
                    <span class="quiet">
                      {row.status.agentType}
                      {row.onBehalfOf === undefined ? '' : `, for ${actorInWords(row.onBehalfOf)}`}
                    </span>
                  </td>
                  <td data-label="Where">
                    {row.direction === 'sent' ? 'on ' : 'here, for '}
                    {peerNames.get(row.connectionId) ?? 'a former peer'}
                  </td>
                  <td data-label="State">
                    <AgentBadge status={row.status.status} />
                  </td>
                  <td data-label="Spawned">{utcTime(row.status.spawnedAt)}</td>
                  <td data-label="Started">{row.status.startedAt === null ? '—' : utcTime(row.status.startedAt)}</td>
                  <td data-label="Ended">{row.status.completedAt === null ? '—' : utcTime(row.status.completedAt)}</td>
                  <td data-label="Took">{row.status.completedAt === null ? '—' : durationInWords(row.status.spawnedAt, row.status.completedAt)}</td>
                  <td data-label="Tokens" class="num">
                    {tokensInWords(usageOf(row.status))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {props.list.next === null ? null : (
          <p>
            <a href={`/federation/agents?${nextQuery(props.list.form, props.list.next)}`}>Older agents</a>
          </p>
        )}
        <RefreshForm rows={props.list.rows} csrf={props.csrf} />
      </section>
    </Layout>
  );
}

/**
 * Asks the peers for the statuses of the page's sent agents that have not ended: one
 * `agents.status` per peer, whatever the number of agents. Statuses come by events
 * anyway; this is for a peer whose events are late.
 */
function RefreshForm(props: { rows: readonly AgentRow[]; csrf: string }) {
  const live = props.rows.filter((row) => row.direction === 'sent' && !isTerminalState(row.status.status));
  return live.length === 0 ? null : (
    <form method="post" action="/federation/agents/refresh" class="inline">
      <input type="hidden" name="csrf" value={props.csrf} />
      {live.map((row) => (
        <input type="hidden" name="agentIds" value={row.agentId} />
      ))}
      <button type="submit" class="quiet">
        Ask the peers for the latest of these {live.length === 1 ? 'agent' : `${live.length} agents`}
      </button>
    </form>
  );
}

/** What each outcome means, in the words the page uses. */
const OUTCOME_WORDS: Record<AgentOutcome, string> = {
  succeeded: 'Succeeded: the work is done and every check it ran passed.',
  'no-changes': 'No changes: the agent changed nothing.',
  'checks-failing': 'Checks failing: a check the agent ran failed the last time it ran.',
  unchecked: 'Unchecked: the agent ran no test, build or lint to check its work.',
};

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

/** One move of an agent's life: its state, the attempt, and when (as its status says). */
export interface TimelineEntry {
  status: AgentStatus['status'];
  attempt: number;
  at: string | null;
}

/** When a status says it reached its state. */
export function stateTime(status: AgentStatus): string | null {
  return status.status === 'spawning' ? status.spawnedAt : status.status === 'running' ? status.startedAt : status.completedAt;
}

function Timeline(props: { entries: TimelineEntry[] }) {
  return (
    <section aria-labelledby="timeline">
      <h2 id="timeline">Timeline</h2>
      <ol id="agent-timeline" class="timeline">
        {props.entries.map((entry) => (
          <li>
            <AgentBadge status={entry.status} /> {entry.at === null ? '' : `${utcTime(entry.at, true)} UTC`}
            {entry.attempt > 1 ? <span class="quiet"> (attempt {entry.attempt})</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** A patch, one part per file, each line marked as added, removed or context (by its sign, not only its colour). */
function Patch(props: { patch: string; download: string }) {
  const files = props.patch.split(/^(?=diff --git )/m).filter((part) => part.trim() !== '');
  return (
    <>
      <h3>Patch</h3>
      <p>
        {files.length === 1 ? 'One file changed' : `${files.length} files changed`}.{' '}
        <a href={props.download} download>
          Download the patch
        </a>{' '}
        (<code>git apply</code> takes it).
      </p>
      <div id="agent-patch">
        {files.map((file) => {
          const name = /^diff --git a\/(\S+)/.exec(file)?.[1] ?? 'the change';
          return (
            <details open class="diff-file">
              <summary>
                <code>{name}</code>
              </summary>
              <pre class="diff">
                {file.replace(/\n$/, '').split('\n').map((line) => (
                  <span data-line={line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : undefined}>{line === '' ? ' ' : line}</span>
                ))}
              </pre>
            </details>
          );
        })}
      </div>
    </>
  );
}

export function AgentPage(props: {
  status: AgentStatus;
  timeline: TimelineEntry[];
  transcript?: AgentTranscriptResponse | undefined;
  delivery?: AgentDelivery | undefined;
  /** The peer it runs on (sent), or runs for (hosted here). */
  peerName: string;
  /** An agent that runs here for a peer: this instance's admin may stop it, and no event stream follows it. */
  hosted?: boolean;
  /** Whether the person may stop it (a workspace's viewer may not). Default yes. */
  canStop?: boolean;
  /** The peer's user (and workspace) a hosted agent was spawned for. */
  onBehalfOf?: Actor | undefined;
  /** The sequence of the event `status` came with: the page follows the events after it. */
  sequence?: number | undefined;
  csrf: string;
  flash?: string | undefined;
}) {
  const { status } = props;
  const live = !['completed', 'failed', 'killed'].includes(status.status);
  const base = props.hosted === true ? `/federation/hosted/${status.agentId}` : `/federation/agents/${status.agentId}`;
  return (
    <Layout title={status.taskId} signedIn csrf={props.csrf}>
      <h1>{status.taskId}</h1>
      <p>
        {props.hosted === true
          ? `A ${status.agentType} agent running on this instance for ${props.peerName}${props.onBehalfOf === undefined ? '' : `, for its ${actorInWords(props.onBehalfOf)}`}.`
          : `A ${status.agentType} agent you started on ${props.peerName}.`}
      </p>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      <dl>
        <dt>State</dt>
        <dd aria-live="polite">
          <span id="agent-status" class="badge" data-tone={AGENT_TONES[status.status]} data-status={status.status}>
            {AGENT_WORDS[status.status]}
          </span>
        </dd>
        <dt>Attempt</dt>
        <dd id="agent-attempt">{String(status.attempt)}</dd>
        <dt>Last step</dt>
        <dd id="agent-progress">{status.progress?.lastAction ?? '—'}</dd>
        <UsageLines usage={usageOf(status)} hosted={props.hosted === true} />
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
          {status.result.patch === undefined ? null : <Patch patch={status.result.patch} download={`${base}/patch`} />}
          {status.result.bundle === undefined ? null : (
            <>
              <h3>Commits</h3>
              <p>
                On the branch <code>{status.result.bundle.branch}</code>, from <code>{status.result.bundle.base.slice(0, 12)}</code>
                {props.hosted === true ? (
                  `, ${Math.ceil(status.result.bundle.bytes / 1024)} KiB as a git bundle, which ${props.peerName} fetches.`
                ) : (
                  <>
                    :{' '}
                    <a href={`/federation/agents/${status.agentId}/bundle`} download>
                      download them as a git bundle
                    </a>{' '}
                    ({Math.ceil(status.result.bundle.bytes / 1024)} KiB; <code>git fetch</code> takes it in a clone of the repository).
                  </>
                )}
              </p>
              {props.delivery === undefined ? null : <p id="agent-delivery">{deliveryWords(props.delivery)}</p>}
            </>
          )}

        </section>
      )}
      {status.status === 'waiting' && status.pendingApproval !== undefined ? (
        <PendingApprovalSection
          approval={status.pendingApproval}
          action={props.hosted === true || props.canStop === false ? undefined : `${base}/respond`}
          whose={props.hosted === true ? `${props.peerName}'s` : props.canStop === false ? "a workspace member's" : 'your'}
          csrf={props.csrf}
        />
      ) : null}
      <Timeline entries={props.timeline} />
      <TranscriptSection agentId={status.agentId} transcript={props.transcript} />
      {live && props.canStop !== false ? (
        <>
          <button type="button" data-open-dialog="kill">
            Stop this agent…
          </button>
          <dialog id="kill" aria-labelledby="kill-title">
            <form method="post" action={`${base}/kill`}>
              <h2 id="kill-title">Stop this agent?</h2>
              <p>
                {props.hosted === true
                  ? `Its work on this machine ends and its sandbox is removed; ${props.peerName} is told it was stopped. What it did so far is not kept.`
                  : 'The peer stops its work and removes its sandbox. What it did so far is not kept.'}
              </p>
              <input type="hidden" name="csrf" value={props.csrf} />
              <button type="submit">Stop the agent</button>{' '}
              <button type="submit" formmethod="dialog" class="quiet">
                Let it continue
              </button>
            </form>
          </dialog>
          {props.hosted === true ? (
            <>
              <p class="help">Reload the page for its latest state.</p>
              <script dangerouslySetInnerHTML={{ __html: DIALOG_SCRIPT }} />
            </>
          ) : (
            <script dangerouslySetInnerHTML={{ __html: LIVE_SCRIPT(status.agentId, props.sequence ?? 0) }} />
          )}
        </>
      ) : null}
      <p>
        <a href="/federation/agents">Back to the agents</a>
      </p>
    </Layout>
  );
}

/** An agent's tokens for a table cell: the total so far, with the estimated cost when the spoke priced them. */
function tokensInWords(usage: AgentUsage | undefined): string {
  if (usage === undefined) return '—';
  return `${tokensOf(usage).toLocaleString('en')}${usage.estimatedCost === undefined ? '' : ` (${costInWords(usage.estimatedCost)})`}`;
}

/** What the agent used so far (its attempts together), and what the spoke's prices make of it. */
function UsageLines(props: { usage: AgentUsage | undefined; hosted: boolean }) {
  const { usage } = props;
  if (usage === undefined) return null;
  return (
    <>
      <dt>Model tokens</dt>
      <dd id="agent-usage">
        {inputTokensOf(usage).toLocaleString('en')} input tokens ({(usage.cacheReadInputTokens ?? 0).toLocaleString('en')} of them read from the prompt cache) and{' '}
        {usage.outputTokens.toLocaleString('en')} output tokens
        {usage.estimatedCost === undefined ? '' : `, ${costInWords(usage.estimatedCost)} by ${props.hosted ? "this instance's" : "the peer's"} prices`}.
      </dd>
    </>
  );
}

/** Words for what an agent asks to be approved. */
const APPROVAL_KINDS: Record<string, string> = { plan: 'its plan', command: 'a command' };

/**
 * What a waiting agent asks (PROTOCOL 5, Approvals), and, for whoever may act for it, the
 * form that answers: approve or not, with a note the agent reads.
 */
function PendingApprovalSection(props: {
  approval: NonNullable<AgentStatus['pendingApproval']>;
  /** Where the answer's form posts; none for who may not answer (a viewer, the spoke's admin). */
  action: string | undefined;
  /** Whose approval it waits for: `your`, or the peer's. */
  whose: string;
  csrf: string;
}) {
  const { approval } = props;
  const details = approval.details !== null && typeof approval.details === 'object' && !Array.isArray(approval.details) ? approval.details : undefined;
  const rule = typeof details?.rule === 'string' ? details.rule : undefined;
  return (
    <section aria-labelledby="approval-title" id="pending-approval" data-approval={approval.id}>
      <h2 id="approval-title">
        It waits for {props.whose} approval of {APPROVAL_KINDS[approval.kind] ?? approval.kind}
      </h2>
      <pre class="plan">{approval.summary}</pre>
      {rule === undefined ? null : (
        <p class="help">
          It is held by the connection's rule <code>{rule}</code>.
        </p>
      )}
      {props.action === undefined ? (
        <p class="help">Nothing runs until it is answered. Its time still counts toward its timeout.</p>
      ) : (
        <form method="post" action={props.action}>
          <input type="hidden" name="csrf" value={props.csrf} />
          <input type="hidden" name="approvalId" value={approval.id} />
          <label for="approval-note-text">A note for the agent (optional)</label>
          <textarea id="approval-note-text" name="note" rows={3} maxlength={4000} aria-describedby="approval-help" />
          <p id="approval-help" class="help">
            Nothing runs until you answer; its time still counts toward its timeout. If you do not approve, the agent reads your note and
            {approval.kind === 'plan' ? ' proposes a new plan.' : ' finds another way.'}
          </p>
          <button type="submit" name="decision" value="approve">
            Approve
          </button>{' '}
          <button type="submit" name="decision" value="reject" class="quiet">
            Do not approve
          </button>
        </form>
      )}
    </section>
  );
}

// Follows the agent's events (the same stream as the API, with this session) and reloads
// the page when it ends, so the result shows, and when what it waits for changes, so the
// answer's form comes and goes; and opens the stop confirmation.
const LIVE_SCRIPT = (agentId: string, after: number) => `
const words = ${JSON.stringify(AGENT_WORDS)};
const tones = ${JSON.stringify(AGENT_TONES)};
const asked = document.getElementById('pending-approval')?.dataset.approval ?? null;
const source = new EventSource('/federation/agents/${agentId}/events?lastEventId=${after}');
// A form being sent (stopping the agent) leads to the next page: no reload in its way.
document.addEventListener('submit', () => source.close());
source.addEventListener('agent.status.changed', (message) => {
  const event = JSON.parse(message.data);
  const status = document.getElementById('agent-status');
  status.textContent = words[event.status];
  status.dataset.status = event.status;
  status.dataset.tone = tones[event.status];
  document.getElementById('agent-attempt').textContent = String(event.attempt);
  document.getElementById('agent-progress').textContent = (event.progress && event.progress.lastAction) || '—';
  const waitsFor = (event.status === 'waiting' && event.pendingApproval && event.pendingApproval.id) || null;
  if (['completed', 'failed', 'killed'].includes(event.status) || waitsFor !== asked) { source.close(); location.reload(); }
});
${DIALOG_SCRIPT}`;
