// The people pages of the web UI (docs/protocol.md, "Acting for users"): the admins' page
// of users and workspaces, and a workspace's page, where its owners (and the admins)
// manage who is in it. Tokens for users come from `mosaic-fed token create --user` or the
// API, which show one once; no page shows a token.
import { WORKSPACE_ROLES, type Connection, type Membership, type User, type Workspace, type WorkspaceRole } from '@mosaic-fed/core';
import { utcTime } from '../lib/times.js';
import { Badge, Layout, Note, type FieldNotes } from './layout.js';

/** What each role lets a person do, in the words the pages use. */
export const ROLE_WORDS: Record<WorkspaceRole, string> = {
  owner: 'owner: starts and stops agents, and manages the members',
  member: 'member: starts, watches and stops agents',
  viewer: 'viewer: watches agents',
};

export function PeoplePage(props: {
  users: User[];
  workspaces: { workspace: Workspace; members: Membership[] }[];
  csrf: string;
  notes: FieldNotes;
  flash?: string | undefined;
}) {
  const { notes } = props;
  const workspacesOf = (userId: string) =>
    props.workspaces.flatMap(({ workspace, members }) => members.filter((m) => m.userId === userId).map((m) => `${workspace.name} (${m.role})`));
  return (
    <Layout title="People" signedIn csrf={props.csrf}>
      <h1>People</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      <p>
        The people who start agents here, and the workspaces they work in. Each sees the agents of their own workspaces only; peers are told, with every
        message, which user and workspace an agent is for.
      </p>
      <section aria-labelledby="workspaces">
        <h2 id="workspaces">Workspaces</h2>
        {props.workspaces.length === 0 ? (
          <p>No workspaces yet. The form below makes one.</p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Workspace</th>
                <th scope="col">Members</th>
                <th scope="col">Connections it may use</th>
              </tr>
            </thead>
            <tbody>
              {props.workspaces.map(({ workspace, members }) => (
                <tr data-workspace={workspace.id}>
                  <td data-label="Workspace">
                    <a href={`/federation/workspaces/${workspace.id}`}>{workspace.name}</a>
                    <br />
                    <span class="quiet">
                      id <code>{workspace.id}</code>
                    </span>
                  </td>
                  <td data-label="Members">{members.length === 0 ? 'none yet' : members.map((m) => `${m.userId} (${m.role})`).join(', ')}</td>
                  <td data-label="Connections it may use">{workspace.connectionIds === null ? 'every active one' : `${workspace.connectionIds.length} chosen`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form method="post" action="/federation/people/workspaces">
          <h3>Make a workspace</h3>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="workspace-id">Its id</label>
          <input id="workspace-id" name="id" placeholder="web-team" aria-describedby="workspace-id-help" />
          <p id="workspace-id-help" class="help">
            Letters a to z, digits and . _ -, up to 64: peers see it with each agent.
          </p>
          <Note field="workspace-id" notes={notes} />
          <label for="workspace-name">Its name</label>
          <input id="workspace-name" name="name" placeholder="Web team" />
          <Note field="workspace-name" notes={notes} />
          <button type="submit">Make the workspace</button>
        </form>
      </section>
      <section aria-labelledby="users">
        <h2 id="users">Users</h2>
        {props.users.length === 0 ? (
          <p>No users yet. The form below adds one.</p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Workspaces</th>
                <th scope="col">Signs in with</th>
              </tr>
            </thead>
            <tbody>
              {props.users.map((user) => (
                <tr data-user={user.id}>
                  <td data-label="User">
                    {user.name}
                    <br />
                    <span class="quiet">
                      id <code>{user.id}</code>, added {utcTime(user.createdAt)} UTC
                    </span>
                  </td>
                  <td data-label="Workspaces">{workspacesOf(user.id).join(', ') || 'none yet'}</td>
                  <td data-label="Signs in with">
                    <code>mosaic-fed token create --user {user.id}</code>
                    {user.oidcSubject === undefined ? null : (
                      <>
                        , or OIDC as <code>{user.oidcSubject}</code>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form method="post" action="/federation/people/users">
          <h3>Add a user</h3>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="user-id">Their id</label>
          <input id="user-id" name="id" placeholder="alice" aria-describedby="user-id-help" />
          <p id="user-id-help" class="help">
            Letters a to z, digits and . _ -, up to 64: peers see it with each agent they start.
          </p>
          <Note field="user-id" notes={notes} />
          <label for="user-name">Their name</label>
          <input id="user-name" name="name" placeholder="Alice Example" />
          <Note field="user-name" notes={notes} />
          <label for="user-oidc">Their OIDC subject (optional)</label>
          <input id="user-oidc" name="oidcSubject" aria-describedby="user-oidc-help" />
          <p id="user-oidc-help" class="help">
            The <code>sub</code> of their access tokens at this instance's identity provider: such a token then signs them in.
          </p>
          <Note field="user-oidc" notes={notes} />
          <button type="submit">Add the user</button>
        </form>
      </section>
    </Layout>
  );
}

export function WorkspacesPage(props: { workspaces: { workspace: Workspace; role: WorkspaceRole }[]; csrf: string }) {
  return (
    <Layout title="Your workspaces" signedIn csrf={props.csrf}>
      <h1>Your workspaces</h1>
      {props.workspaces.length === 0 ? (
        <p>You are in no workspace yet: an admin, or a workspace's owner, adds you to one.</p>
      ) : (
        <ul>
          {props.workspaces.map(({ workspace, role }) => (
            <li>
              <a href={`/federation/workspaces/${workspace.id}`}>{workspace.name}</a>: you are its {role}
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
}

export function WorkspacePage(props: {
  workspace: Workspace;
  members: Membership[];
  /** Whether the person manages the members (an owner, or an admin). */
  manages: boolean;
  /** An admin's page: the connections, to choose those the workspace may use. */
  connections?: Connection[] | undefined;
  csrf: string;
  notes: FieldNotes;
  flash?: string | undefined;
}) {
  const { workspace, notes } = props;
  const base = `/federation/workspaces/${workspace.id}`;
  return (
    <Layout title={workspace.name} signedIn csrf={props.csrf}>
      <h1>{workspace.name}</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      <p class="quiet">
        Workspace id <code>{workspace.id}</code>; its members start agents on {workspace.connectionIds === null ? 'every active connection' : `${workspace.connectionIds.length} chosen connections`}.
      </p>
      <h2>Members</h2>
      {props.members.length === 0 ? (
        <p>No one yet.</p>
      ) : (
        <table class="stack" id="members">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              {props.manages ? <th scope="col">What you can do</th> : null}
            </tr>
          </thead>
          <tbody>
            {props.members.map((member) => (
              <tr data-member={member.userId}>
                <td data-label="User">
                  <code>{member.userId}</code>
                  <br />
                  <span class="quiet">since {utcTime(member.createdAt)} UTC</span>
                </td>
                <td data-label="Role">
                  <Badge tone={member.role === 'viewer' ? 'quiet' : 'good'}>{member.role}</Badge>
                </td>
                {props.manages ? (
                  <td data-label="What you can do">
                    <form method="post" action={`${base}/members/${member.userId}/remove`} class="inline">
                      <input type="hidden" name="csrf" value={props.csrf} />
                      <button type="submit" class="quiet">
                        Take {member.userId} out
                      </button>
                    </form>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.manages ? (
        <form method="post" action={`${base}/members`}>
          <h3>Add someone, or change their role</h3>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="member-user">Their user id</label>
          <input id="member-user" name="userId" placeholder="alice" />
          <Note field="member-user" notes={notes} />
          <fieldset>
            <legend>Role</legend>
            {WORKSPACE_ROLES.map((role) => (
              <label class="check">
                <input type="radio" name="role" value={role} checked={role === 'member'} /> {ROLE_WORDS[role]}
              </label>
            ))}
          </fieldset>
          <button type="submit">Save the membership</button>
        </form>
      ) : null}
      {props.connections === undefined ? null : (
        <form method="post" action={`${base}/connections`}>
          <h2>Connections its members may use</h2>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label class="check">
            <input type="checkbox" name="every" value="on" checked={workspace.connectionIds === null} /> every active connection, now and later
          </label>
          {props.connections.map((connection) => (
            <label class="check">
              <input type="checkbox" name="connectionIds" value={connection.id} checked={workspace.connectionIds?.includes(connection.id) ?? false} /> {connection.peerName}{' '}
              <span class="quiet">({connection.status.toLowerCase()})</span>
            </label>
          ))}
          <p class="help">Without “every”, only the connections ticked.</p>
          <button type="submit">Save the connections</button>
        </form>
      )}
    </Layout>
  );
}
