// What the server tells an observer as it works: the hooks metrics are built from (the
// Node entry's Prometheus endpoint). Each hook is called synchronously and must not
// throw; a slow or failing observer must never slow or fail a request.
import type { ErrorCode } from '@mosaic-fed/core';

export interface FederationObserver {
  /** Each HTTP request answered: the route's pattern (never the raw path, whose ids are unbounded), its method, status and time. */
  request?(info: { method: string; route: string; status: number; seconds: number }): void;
  /** Each message from a peer refused before it was read (PROTOCOL 2): the code it got. */
  verificationFailure?(code: ErrorCode): void;
}

/** Calls a hook, keeping whatever it throws away from the request. */
export function notify<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  if (hook === undefined) return;
  try {
    hook(...args);
  } catch {
    // An observer's failure is its own.
  }
}
