/**
 * The wait before retry number `attempt` (1 for the first): doubling from `initialMs`,
 * at most `maxMs`, with jitter (half to all of it) so that the retries of many clients
 * after one outage spread out instead of arriving together.
 *
 * @example
 * ```ts
 * await sleep(backoffMs(failures, { initialMs: 1_000, maxMs: 60_000 }), signal);
 * ```
 */
export function backoffMs(attempt: number, options: { initialMs: number; maxMs: number; random?: () => number }): number {
  const exponential = Math.min(options.initialMs * 2 ** Math.max(0, attempt - 1), options.maxMs);
  return Math.round(exponential * (0.5 + (options.random ?? Math.random)() / 2));
}
