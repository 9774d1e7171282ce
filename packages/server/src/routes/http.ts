import { assertJsonDepth, FederationError, validationFailed } from '@mosaic-fed/core';
import { zValidator } from '@hono/zod-validator';
import type { Context, TypedResponse, ValidationTargets } from 'hono';
import type { z } from 'zod';

/** The success envelope of the instance's own API (PROTOCOL 6). */
export interface Ok<T> {
  success: true;
  data: T;
}

/**
 * Answers `{ success: true, data }`, typed for `hono/client` with `data`'s own type:
 * every answer of the API is a schema's JSON shape already (dates as strings).
 */
export function ok<T, S extends 200 | 201 = 200>(c: Context, data: T, status?: S): Response & TypedResponse<Ok<T>, S, 'json'> {
  const response: Response = c.json({ success: true, data }, status ?? 200);
  return response as Response & TypedResponse<Ok<T>, S, 'json'>;
}

/** The media types a JSON body may be sent as: `application/json` and `application/*+json`. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Whether the request says its body is JSON. */
function sendsJson(c: Context): boolean {
  return JSON_MEDIA_TYPE.test((c.req.header('Content-Type') ?? '').split(';')[0]?.trim() ?? '');
}

/** `VALIDATION_FAILED` for a body that is not JSON, or not said to be. */
function notJson(): FederationError<'VALIDATION_FAILED'> {
  return new FederationError('VALIDATION_FAILED', 'the body is not JSON (sent as Content-Type: application/json)', {
    details: [{ path: '(root)', message: 'must be a JSON object' }],
  });
}

/**
 * Validates one part of a request (`json`, `query`, `header`, `param`) with its zod
 * schema: a part that does not match, nests too deep (PROTOCOL 2) or, for `json`, is not
 * sent as JSON is `VALIDATION_FAILED` naming `what` and every field, as everywhere input
 * enters. The route reads the parsed value with `c.req.valid(target)`, and `hono/client`
 * infers the route's input from the schema.
 *
 * @example
 * ```ts
 * app.patch('/instance', validate('json', UpdateInstanceDtoSchema, 'instance update'), (c) => ok(c, c.req.valid('json')));
 * ```
 */
export function validate<Target extends keyof ValidationTargets, S extends z.ZodType>(target: Target, schema: S, what: string) {
  const validator = zValidator(target, schema, (result) => {
    if (!result.success) throw validationFailed(result.error, what);
  });
  const checked: typeof validator = async (c, next) => {
    if (target === 'json') {
      if (!sendsJson(c)) throw notJson();
      // Read once (Hono keeps it for the validator) and measured before zod walks it:
      // nesting must not exhaust the stack.
      const body: unknown = await c.req.json().catch(() => {
        throw notJson();
      });
      assertJsonDepth(body, what);
    }
    return validator(c, next);
  };
  return checked;
}
