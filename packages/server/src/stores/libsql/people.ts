// Users, workspaces and memberships in libSQL.
import type { AuditEntry, Membership, User, Workspace } from '@mosaic-fed/core';
import { and, asc, eq } from 'drizzle-orm';
import type { PeopleStore } from '../types.js';
import { membershipsTable, usersTable, workspacesTable } from './schema.js';
import { insertAudit, insertAuditIfChanged, type Database } from './shared.js';
import { toUser } from '../sql-shared.js';

export class LibsqlPeopleStore implements PeopleStore {
  constructor(private readonly db: Database) {}

  async createUser(user: User, audit: AuditEntry): Promise<boolean> {
    const [inserted] = await this.db.batch([this.db.insert(usersTable).values(user).onConflictDoNothing(), insertAuditIfChanged(this.db, audit)]);
    return inserted.rowsAffected === 1;
  }

  async getUser(id: string): Promise<User | undefined> {
    const [row] = await this.db.select().from(usersTable).where(eq(usersTable.id, id)).limit(1);
    return row === undefined ? undefined : toUser(row);
  }

  async findUserByOidcSubject(subject: string): Promise<User | undefined> {
    const [row] = await this.db.select().from(usersTable).where(eq(usersTable.oidcSubject, subject)).limit(1);
    return row === undefined ? undefined : toUser(row);
  }

  async listUsers(): Promise<User[]> {
    return (await this.db.select().from(usersTable).orderBy(asc(usersTable.id))).map(toUser);
  }

  async createWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean> {
    const [inserted] = await this.db.batch([this.db.insert(workspacesTable).values(workspace).onConflictDoNothing(), insertAuditIfChanged(this.db, audit)]);
    return inserted.rowsAffected === 1;
  }

  async getWorkspace(id: string): Promise<Workspace | undefined> {
    const [row] = await this.db.select().from(workspacesTable).where(eq(workspacesTable.id, id)).limit(1);
    return row;
  }

  listWorkspaces(): Promise<Workspace[]> {
    return this.db.select().from(workspacesTable).orderBy(asc(workspacesTable.id));
  }

  async updateWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean> {
    const { id, name, connectionIds } = workspace;
    const [updated] = await this.db.batch([
      this.db.update(workspacesTable).set({ name, connectionIds }).where(eq(workspacesTable.id, id)),
      insertAuditIfChanged(this.db, audit),
    ]);
    return updated.rowsAffected === 1;
  }

  async setMembership(membership: Membership, audit: AuditEntry): Promise<void> {
    await this.db.batch([
      this.db
        .insert(membershipsTable)
        .values(membership)
        .onConflictDoUpdate({ target: [membershipsTable.workspaceId, membershipsTable.userId], set: { role: membership.role } }),
      insertAudit(this.db, audit),
    ]);
  }

  async removeMembership(workspaceId: string, userId: string, audit: AuditEntry): Promise<boolean> {
    const [removed] = await this.db.batch([
      this.db.delete(membershipsTable).where(and(eq(membershipsTable.workspaceId, workspaceId), eq(membershipsTable.userId, userId))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return removed.rowsAffected === 1;
  }

  membershipsOf(userId: string): Promise<Membership[]> {
    return this.db.select().from(membershipsTable).where(eq(membershipsTable.userId, userId)).orderBy(asc(membershipsTable.workspaceId));
  }

  membersOf(workspaceId: string): Promise<Membership[]> {
    return this.db.select().from(membershipsTable).where(eq(membershipsTable.workspaceId, workspaceId)).orderBy(asc(membershipsTable.userId));
  }
}
