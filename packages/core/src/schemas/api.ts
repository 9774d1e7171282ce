import { z } from 'zod';
import { WireErrorSchema } from '../errors.js';
import { AgentSpawnPayloadSchema } from './agents.js';
import { InstanceUrlSchema } from './instance.js';

/**
 * The success envelope of the instance's own API (PROTOCOL 6): `{ success: true, data }`.
 *
 * @example
 * ```ts
 * const body = apiSuccessSchema(InstanceDocumentSchema).parse(await res.json());
 * ```
 */
export function apiSuccessSchema<T extends z.ZodType>(data: T) {
  return z.strictObject({ success: z.literal(true), data });
}

/** Either envelope of the instance's own API, discriminated by `success`. */
export function apiResponseSchema<T extends z.ZodType>(data: T) {
  return z.discriminatedUnion('success', [apiSuccessSchema(data), WireErrorSchema]);
}

/** `POST /api/v1/federation/connections` body (PROTOCOL 6). */
export const CreateConnectionDtoSchema = z.strictObject({ url: InstanceUrlSchema });
export type CreateConnectionDto = z.infer<typeof CreateConnectionDtoSchema>;

/** `POST /api/v1/federation/agents/spawn` body (PROTOCOL 6). */
export const SpawnAgentDtoSchema = z.strictObject({
  connectionId: z.uuid(),
  payload: AgentSpawnPayloadSchema,
});
export type SpawnAgentDto = z.input<typeof SpawnAgentDtoSchema>;

/** A page of a paginated list: the items and the cursor of the next page, if any. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() });
}
