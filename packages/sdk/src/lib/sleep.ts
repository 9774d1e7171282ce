/**
 * Waits `ms` milliseconds; rejects with the signal's reason as soon as it aborts.
 *
 * @example
 * ```ts
 * await sleep(1_000, signal).catch(() => undefined); // to stop quietly on abort
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    if (signal?.aborted === true) return fail(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      done();
    }, ms);
    function abort() {
      clearTimeout(timer);
      fail(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
