// Users, workspaces and memberships in memory.
import type { AuditEntry, Membership, User, Workspace } from '@mosaic-fed/core';
import type { PeopleStore } from '../types.js';
import type { InMemoryAuditStore } from './audit.js';
import { copy } from './shared.js';

const byId = <T extends { id: string }>(a: T, b: T) => a.id.localeCompare(b.id);

export class InMemoryPeopleStore implements PeopleStore {
  readonly #users = new Map<string, User>();
  readonly #workspaces = new Map<string, Workspace>();
  /** By `${workspaceId}\n${userId}`. */
  readonly #memberships = new Map<string, Membership>();

  constructor(private readonly audit: InMemoryAuditStore) {}

  async createUser(user: User, audit: AuditEntry): Promise<boolean> {
    if (this.#users.has(user.id)) return false;
    if (user.oidcSubject !== undefined && (await this.findUserByOidcSubject(user.oidcSubject)) !== undefined) return false;
    this.#users.set(user.id, copy(user));
    await this.audit.append(audit);
    return true;
  }

  async getUser(id: string): Promise<User | undefined> {
    const user = this.#users.get(id);
    return user === undefined ? undefined : copy(user);
  }

  async findUserByOidcSubject(subject: string): Promise<User | undefined> {
    const user = [...this.#users.values()].find((candidate) => candidate.oidcSubject === subject);
    return user === undefined ? undefined : copy(user);
  }

  async listUsers(): Promise<User[]> {
    return [...this.#users.values()].sort(byId).map(copy);
  }

  async createWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean> {
    if (this.#workspaces.has(workspace.id)) return false;
    this.#workspaces.set(workspace.id, copy(workspace));
    await this.audit.append(audit);
    return true;
  }

  async getWorkspace(id: string): Promise<Workspace | undefined> {
    const workspace = this.#workspaces.get(id);
    return workspace === undefined ? undefined : copy(workspace);
  }

  async listWorkspaces(): Promise<Workspace[]> {
    return [...this.#workspaces.values()].sort(byId).map(copy);
  }

  async updateWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean> {
    if (!this.#workspaces.has(workspace.id)) return false;
    this.#workspaces.set(workspace.id, copy(workspace));
    await this.audit.append(audit);
    return true;
  }

  async setMembership(membership: Membership, audit: AuditEntry): Promise<void> {
    const key = `${membership.workspaceId}\n${membership.userId}`;
    const current = this.#memberships.get(key);
    this.#memberships.set(key, { ...copy(membership), createdAt: current?.createdAt ?? membership.createdAt });
    await this.audit.append(audit);
  }

  async removeMembership(workspaceId: string, userId: string, audit: AuditEntry): Promise<boolean> {
    if (!this.#memberships.delete(`${workspaceId}\n${userId}`)) return false;
    await this.audit.append(audit);
    return true;
  }

  async membershipsOf(userId: string): Promise<Membership[]> {
    return [...this.#memberships.values()].filter((m) => m.userId === userId).sort((a, b) => a.workspaceId.localeCompare(b.workspaceId)).map(copy);
  }

  async membersOf(workspaceId: string): Promise<Membership[]> {
    return [...this.#memberships.values()].filter((m) => m.workspaceId === workspaceId).sort((a, b) => a.userId.localeCompare(b.userId)).map(copy);
  }
}
