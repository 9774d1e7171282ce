// Who a request acts as, and what that lets it do with agents (docs/protocol.md, "Acting
// for users"): an admin does everything; a user sees the agents of their workspaces,
// starts and stops them where they are a member or owner, and nothing else. An agent a
// user may not see is answered as one that does not exist (`NOT_FOUND`).
import {
  ACTING_ROLES,
  FederationError,
  type AgentOwner,
  type AuditActor,
  type Membership,
  type PrincipalView,
  type User,
  type Workspace,
  type WorkspaceRole,
} from '@mosaic-fed/core';
import type { PeopleStore } from '../stores/types.js';

export type Principal =
  | { kind: 'admin'; actor: AuditActor }
  | { kind: 'user'; actor: AuditActor; user: User; memberships: readonly Membership[] };

/** A user's principal, read from the store; `undefined` for a user that is no more. */
export async function userPrincipal(people: PeopleStore, userId: string): Promise<Principal | undefined> {
  const user = await people.getUser(userId);
  if (user === undefined) return undefined;
  return { kind: 'user', actor: { type: 'user', id: user.id, label: user.name }, user, memberships: await people.membershipsOf(user.id) };
}

/** What `GET /me` answers. */
export function principalView(principal: Principal): PrincipalView {
  return principal.kind === 'admin' ? { kind: 'admin' } : { kind: 'user', user: principal.user, memberships: [...principal.memberships] };
}

function roleIn(principal: Principal & { kind: 'user' }, workspaceId: string): WorkspaceRole | undefined {
  return principal.memberships.find((membership) => membership.workspaceId === workspaceId)?.role;
}

/** The workspaces whose agents the principal sees: `undefined` for all of them (an admin). */
export function visibleWorkspaces(principal: Principal): readonly string[] | undefined {
  return principal.kind === 'admin' ? undefined : principal.memberships.map((membership) => membership.workspaceId);
}

/**
 * Checks that the principal may see an agent (`see`) or also start and stop it (`act`),
 * and answers whom the instance acts for in its message to the peer: the user in the
 * agent's workspace, or nobody (the instance itself, for an admin).
 */
export function agentAccess(principal: Principal, agent: { owner?: AgentOwner | undefined }, need: 'see' | 'act'): AgentOwner | undefined {
  if (principal.kind === 'admin') return undefined;
  const role = agent.owner === undefined ? undefined : roleIn(principal, agent.owner.workspaceId);
  // Another workspace's agent, or the instance's own: as if there were none.
  if (role === undefined || agent.owner === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
  if (need === 'act' && !ACTING_ROLES.includes(role)) throw new FederationError('FORBIDDEN', `a ${role} of workspace ${agent.owner.workspaceId} watches its agents but does not start or stop them`);
  return { userId: principal.user.id, workspaceId: agent.owner.workspaceId };
}

/** Whether the principal may start and stop the agent: an admin, or a member or owner of its workspace. */
export function mayAct(principal: Principal, agent: { owner?: AgentOwner | undefined }): boolean {
  if (principal.kind === 'admin') return true;
  const role = agent.owner === undefined ? undefined : roleIn(principal, agent.owner.workspaceId);
  return role !== undefined && ACTING_ROLES.includes(role);
}

/**
 * Checks that the principal may see a workspace's members (any member does) or manage
 * them (its owners, and admins). A workspace the user is not in is `NOT_FOUND`.
 */
export function workspaceAccess(principal: Principal, workspaceId: string, need: 'see' | 'manage'): void {
  if (principal.kind === 'admin') return;
  const role = roleIn(principal, workspaceId);
  if (role === undefined) throw new FederationError('NOT_FOUND', 'there is no such workspace');
  if (need === 'manage' && role !== 'owner') throw new FederationError('FORBIDDEN', `a ${role} of workspace ${workspaceId} does not manage its members`);
}

/**
 * Checks a spawn: an admin spawns for the instance (no workspace); a user spawns in a
 * workspace where they are a member or owner, on a connection the workspace may use.
 * Answers the agent's owner, `undefined` for the instance's own.
 */
export async function spawnAccess(
  principal: Principal,
  request: { workspaceId?: string | undefined; connectionId: string },
  people: PeopleStore,
): Promise<AgentOwner | undefined> {
  if (principal.kind === 'admin') {
    if (request.workspaceId === undefined) return undefined;
    throw new FederationError('VALIDATION_FAILED', "an admin's agents are the instance's own: a workspace's agents are started by its members", {
      details: [{ path: 'workspaceId', message: 'only a user spawns in a workspace' }],
    });
  }
  const { workspaceId } = request;
  if (workspaceId === undefined) {
    throw new FederationError('VALIDATION_FAILED', 'a user spawns in one of their workspaces', { details: [{ path: 'workspaceId', message: 'is required' }] });
  }
  const role = roleIn(principal, workspaceId);
  if (role === undefined) throw new FederationError('NOT_FOUND', 'there is no such workspace');
  if (!ACTING_ROLES.includes(role)) throw new FederationError('FORBIDDEN', `a ${role} of workspace ${workspaceId} does not start agents`);
  const workspace: Workspace | undefined = await people.getWorkspace(workspaceId);
  if (workspace === undefined) throw new FederationError('NOT_FOUND', 'there is no such workspace');
  // A connection the workspace may not use is, for its members, one that is not there.
  if (workspace.connectionIds !== null && !workspace.connectionIds.includes(request.connectionId)) {
    throw new FederationError('NOT_FOUND', 'there is no such connection');
  }
  return { userId: principal.user.id, workspaceId };
}
