// Leases: who does a piece of shared work right now. A holder renews its lease while it
// works; when it stops renewing (its process died), the lease lapses and another holder
// takes the work over. In memory for one process; on Valkey for replicas.

/** Leases by key, each held by one holder until it lapses. */
export interface Leases {
  /**
   * Takes the lease of `key` for `holder`, or renews it when `holder` has it: true when
   * `holder` holds it for `ttlMs` from now, false when another holder has it.
   */
  hold(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `holder` has it. */
  release(key: string, holder: string): Promise<void>;
}

/** Leases in this process's memory: for one process, where every holder is here. */
export class InMemoryLeases implements Leases {
  readonly #leases = new Map<string, { holder: string; until: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async hold(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const current = this.#leases.get(key);
    if (current !== undefined && current.holder !== holder && current.until > now) return false;
    this.#leases.set(key, { holder, until: now + ttlMs });
    return true;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.#leases.get(key)?.holder === holder) this.#leases.delete(key);
  }
}
