// The instance's users, workspaces and memberships, as its admins manage them (docs/
// protocol.md, "Acting for users"): every change audited, every id checked.
import {
  FederationError,
  type AdminToken,
  type AuditActor,
  type AuditEntry,
  type CreateUserDto,
  type CreateUserTokenDto,
  type CreateWorkspaceDto,
  type Membership,
  type UpdateWorkspaceDto,
  type User,
  type Workspace,
  type WorkspaceRole,
} from '@mosaic-fed/core';
import { createAdminToken, toAdminToken } from '../auth/admin-tokens.js';
import type { FederationStores } from '../stores/types.js';

export interface PeopleServiceOptions {
  stores: Pick<FederationStores, 'people' | 'adminTokens'>;
  now: () => Date;
  generateId: () => string;
}

export class PeopleService {
  readonly #o: PeopleServiceOptions;

  constructor(options: PeopleServiceOptions) {
    this.#o = options;
  }

  async createUser(dto: CreateUserDto, actor: AuditActor): Promise<User> {
    const user: User = { ...dto, createdAt: this.#o.now().toISOString() };
    if (!(await this.#o.stores.people.createUser(user, this.#audit(actor, 'user.create', `user:${user.id}`, null, user)))) {
      const taken = (await this.#o.stores.people.getUser(user.id)) === undefined ? 'oidcSubject' : 'id';
      throw new FederationError('VALIDATION_FAILED', taken === 'id' ? `a user ${user.id} exists already` : 'another user has that OIDC subject', {
        details: [{ path: taken, message: 'is taken' }],
      });
    }
    return user;
  }

  listUsers(): Promise<User[]> {
    return this.#o.stores.people.listUsers();
  }

  async user(id: string): Promise<User> {
    const user = await this.#o.stores.people.getUser(id);
    if (user === undefined) throw new FederationError('NOT_FOUND', 'there is no such user');
    return user;
  }

  async createWorkspace(dto: CreateWorkspaceDto, actor: AuditActor): Promise<Workspace> {
    const workspace: Workspace = { id: dto.id, name: dto.name, connectionIds: dto.connectionIds ?? null, createdAt: this.#o.now().toISOString() };
    if (!(await this.#o.stores.people.createWorkspace(workspace, this.#audit(actor, 'workspace.create', `workspace:${workspace.id}`, null, workspace)))) {
      throw new FederationError('VALIDATION_FAILED', `a workspace ${workspace.id} exists already`, { details: [{ path: 'id', message: 'is taken' }] });
    }
    return workspace;
  }

  listWorkspaces(): Promise<Workspace[]> {
    return this.#o.stores.people.listWorkspaces();
  }

  async workspace(id: string): Promise<Workspace> {
    const workspace = await this.#o.stores.people.getWorkspace(id);
    if (workspace === undefined) throw new FederationError('NOT_FOUND', 'there is no such workspace');
    return workspace;
  }

  async updateWorkspace(id: string, dto: UpdateWorkspaceDto, actor: AuditActor): Promise<Workspace> {
    const current = await this.workspace(id);
    const next: Workspace = { ...current, ...(dto.name === undefined ? {} : { name: dto.name }), ...(dto.connectionIds === undefined ? {} : { connectionIds: dto.connectionIds }) };
    const audit = this.#audit(actor, 'workspace.update', `workspace:${id}`, { name: current.name, connectionIds: current.connectionIds }, { name: next.name, connectionIds: next.connectionIds });
    if (!(await this.#o.stores.people.updateWorkspace(next, audit))) throw new FederationError('NOT_FOUND', 'there is no such workspace');
    return next;
  }

  async members(workspaceId: string): Promise<Membership[]> {
    await this.workspace(workspaceId);
    return this.#o.stores.people.membersOf(workspaceId);
  }

  /** Adds a user to a workspace, or changes their role there. */
  async setMember(workspaceId: string, userId: string, role: WorkspaceRole, actor: AuditActor): Promise<Membership> {
    await Promise.all([this.workspace(workspaceId), this.user(userId)]);
    const before = (await this.#o.stores.people.membershipsOf(userId)).find((m) => m.workspaceId === workspaceId);
    const membership: Membership = { workspaceId, userId, role, createdAt: before?.createdAt ?? this.#o.now().toISOString() };
    await this.#o.stores.people.setMembership(
      membership,
      this.#audit(actor, 'workspace.member.set', `workspace:${workspaceId}`, before === undefined ? null : { userId, role: before.role }, { userId, role }),
    );
    return membership;
  }

  async removeMember(workspaceId: string, userId: string, actor: AuditActor): Promise<void> {
    const removed = await this.#o.stores.people.removeMembership(workspaceId, userId, this.#audit(actor, 'workspace.member.remove', `workspace:${workspaceId}`, { userId }, null));
    if (!removed) throw new FederationError('NOT_FOUND', 'the user is not in that workspace');
  }

  /** A token that signs the user in; shown once. */
  async createUserToken(userId: string, dto: CreateUserTokenDto, actor: AuditActor): Promise<{ token: string; record: AdminToken }> {
    await this.user(userId);
    const now = this.#o.now();
    const { token, record } = await createAdminToken({
      store: this.#o.stores.adminTokens,
      label: dto.label,
      actor,
      userId,
      now: this.#o.now,
      generateId: this.#o.generateId,
      ...(dto.expiresInSeconds === undefined ? {} : { expiresAt: new Date(now.getTime() + dto.expiresInSeconds * 1000) }),
    });
    return { token, record: toAdminToken(record) };
  }

  #audit(actor: AuditActor, action: string, target: string, before: AuditEntry['before'], after: AuditEntry['after']): AuditEntry {
    return { id: this.#o.generateId(), at: this.#o.now().toISOString(), actor, action, target, before, after };
  }
}
