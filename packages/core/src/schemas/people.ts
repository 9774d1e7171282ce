import { z } from 'zod';
import { IsoDateTimeSchema } from './agents.js';
import { InstanceNameSchema } from './instance.js';
import { ActorSchema } from './messages.js';

/**
 * The people of an instance (docs/protocol.md, "Acting for users"): users, the
 * workspaces they work in, and their role in each. The instance's admins stand above
 * them all; a user sees and acts on the agents of their own workspaces only.
 */

/** A user's or a workspace's id on its instance: what `actor` carries to peers. Lower case, `a-z0-9._-`. */
export const PersonIdSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, 'must be 1 to 64 of a-z, 0-9, . _ -, starting and ending with a letter or digit');

/** What a user may do in a workspace: `viewer` watches; `member` also spawns and kills; `owner` also manages its members. */
export const WORKSPACE_ROLES = ['owner', 'member', 'viewer'] as const;
export const WorkspaceRoleSchema = z.enum(WORKSPACE_ROLES);
export type WorkspaceRole = z.infer<typeof WorkspaceRoleSchema>;

/** Roles that start and stop agents. */
export const ACTING_ROLES: readonly WorkspaceRole[] = ['owner', 'member'];

export const UserSchema = z.strictObject({
  id: PersonIdSchema,
  name: InstanceNameSchema,
  /** The `sub` of their access tokens at the instance's OIDC issuer: such a token signs them in. One user per subject. */
  oidcSubject: z.string().min(1).max(255).exactOptional(),
  createdAt: IsoDateTimeSchema,
});
export type User = z.infer<typeof UserSchema>;

export const WorkspaceSchema = z.strictObject({
  id: PersonIdSchema,
  name: InstanceNameSchema,
  /** The connections its members may spawn on; `null`: every ACTIVE connection. */
  connectionIds: z.array(z.uuid()).max(1_000).nullable(),
  createdAt: IsoDateTimeSchema,
});
export type Workspace = z.infer<typeof WorkspaceSchema>;

export const MembershipSchema = z.strictObject({
  workspaceId: PersonIdSchema,
  userId: PersonIdSchema,
  role: WorkspaceRoleSchema,
  createdAt: IsoDateTimeSchema,
});
export type Membership = z.infer<typeof MembershipSchema>;

/** `POST /api/v1/federation/users`. */
export const CreateUserDtoSchema = UserSchema.pick({ id: true, name: true, oidcSubject: true });
export type CreateUserDto = z.infer<typeof CreateUserDtoSchema>;

/** `POST /api/v1/federation/workspaces`. */
export const CreateWorkspaceDtoSchema = z.strictObject({
  id: PersonIdSchema,
  name: InstanceNameSchema,
  connectionIds: WorkspaceSchema.shape.connectionIds.default(null),
});
export type CreateWorkspaceDto = z.input<typeof CreateWorkspaceDtoSchema>;

/** `PATCH /api/v1/federation/workspaces/:id`. */
export const UpdateWorkspaceDtoSchema = z.strictObject({ name: InstanceNameSchema, connectionIds: WorkspaceSchema.shape.connectionIds }).partial();
export type UpdateWorkspaceDto = z.infer<typeof UpdateWorkspaceDtoSchema>;

/** `PUT /api/v1/federation/workspaces/:id/members/:userId`. */
export const SetMembershipDtoSchema = z.strictObject({ role: WorkspaceRoleSchema });

/** `POST /api/v1/federation/users/:id/tokens`: a user's own bearer token, shown once. */
export const CreateUserTokenDtoSchema = z.strictObject({
  label: z.string().trim().min(1).max(100),
  /** Seconds until it stops working; default never. */
  expiresInSeconds: z.number().int().min(60).max(10 * 365 * 86_400).optional(),
});
export type CreateUserTokenDto = z.infer<typeof CreateUserTokenDtoSchema>;

/** `GET /api/v1/federation/me`: who the credential is, and in which workspaces. */
export const PrincipalViewSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('admin') }),
  z.strictObject({
    kind: z.literal('user'),
    user: UserSchema,
    memberships: z.array(MembershipSchema),
  }),
]);
export type PrincipalView = z.infer<typeof PrincipalViewSchema>;

/** The owner of an agent this instance spawned for one of its users: that user, in that workspace (sent to the peer as `actor`). */
export const AgentOwnerSchema = ActorSchema.required();
export type AgentOwner = z.infer<typeof AgentOwnerSchema>;
