// Users, workspaces and memberships in PostgreSQL.
import type { AuditEntry, Membership, User, Workspace } from '@mosaic-fed/core';
import { and, asc, eq } from 'drizzle-orm';
import { toUser } from '../sql-shared.js';
import type { PeopleStore } from '../types.js';
import { membershipsTable, usersTable, workspacesTable } from './schema.js';
import { changeAudited, withAudit, type Database } from './shared.js';

export class PostgresPeopleStore implements PeopleStore {
  constructor(private readonly db: Database) {}

  createUser(user: User, audit: AuditEntry): Promise<boolean> {
    return changeAudited(this.db, (tx) => tx.insert(usersTable).values(user).onConflictDoNothing().returning({ id: usersTable.id }), audit);
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

  createWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean> {
    return changeAudited(this.db, (tx) => tx.insert(workspacesTable).values(workspace).onConflictDoNothing().returning({ id: workspacesTable.id }), audit);
  }

  async getWorkspace(id: string): Promise<Workspace | undefined> {
    const [row] = await this.db.select().from(workspacesTable).where(eq(workspacesTable.id, id)).limit(1);
    return row;
  }

  listWorkspaces(): Promise<Workspace[]> {
    return this.db.select().from(workspacesTable).orderBy(asc(workspacesTable.id));
  }

  updateWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean> {
    const { id, name, connectionIds } = workspace;
    return changeAudited(
      this.db,
      (tx) => tx.update(workspacesTable).set({ name, connectionIds }).where(eq(workspacesTable.id, id)).returning({ id: workspacesTable.id }),
      audit,
    );
  }

  setMembership(membership: Membership, audit: AuditEntry): Promise<void> {
    return withAudit(
      this.db,
      (tx) =>
        tx
          .insert(membershipsTable)
          .values(membership)
          .onConflictDoUpdate({ target: [membershipsTable.workspaceId, membershipsTable.userId], set: { role: membership.role } }),
      audit,
    );
  }

  removeMembership(workspaceId: string, userId: string, audit: AuditEntry): Promise<boolean> {
    return changeAudited(
      this.db,
      (tx) =>
        tx
          .delete(membershipsTable)
          .where(and(eq(membershipsTable.workspaceId, workspaceId), eq(membershipsTable.userId, userId)))
          .returning({ userId: membershipsTable.userId }),
      audit,
    );
  }

  membershipsOf(userId: string): Promise<Membership[]> {
    return this.db.select().from(membershipsTable).where(eq(membershipsTable.userId, userId)).orderBy(asc(membershipsTable.workspaceId));
  }

  membersOf(workspaceId: string): Promise<Membership[]> {
    return this.db.select().from(membershipsTable).where(eq(membershipsTable.workspaceId, workspaceId)).orderBy(asc(membershipsTable.userId));
  }
}
