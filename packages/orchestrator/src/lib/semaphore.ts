/** A counting semaphore whose waiters queue in order and can give up through a signal. */
export class Semaphore {
  #free: number;
  readonly #waiters: { grant: () => void; signal: AbortSignal | undefined; onAbort: () => void }[] = [];

  constructor(permits: number) {
    this.#free = permits;
  }

  /** Resolves once a permit is held; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal?.removeEventListener('abort', waiter.onAbort);
          resolve();
        },
        onAbort: () => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#free++;
    else next.grant();
  }
}
