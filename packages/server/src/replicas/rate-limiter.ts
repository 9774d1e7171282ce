/** The answer of a rate limiter: allowed, or how many seconds until a place frees up. */
export interface RateDecision {
  allowed: boolean;
  retryAfter: number;
}

/**
 * Counts events per key in fixed one-minute windows (PROTOCOL 3: `spawnPerMinute`,
 * `messagesPerMinute`). In memory by default; replicas share a Valkey-backed one.
 */
export interface RateLimiter {
  hit(key: string, perMinute: number, now: Date): Promise<RateDecision>;
}

const WINDOW_MS = 60_000;

/** A rate limiter for one process. Windows older than the current one are dropped. */
export class InMemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  async hit(key: string, perMinute: number, now: Date): Promise<RateDecision> {
    const start = Math.floor(now.getTime() / WINDOW_MS) * WINDOW_MS;
    const retryAfter = Math.max(1, Math.ceil((start + WINDOW_MS - now.getTime()) / 1000));
    let window = this.#windows.get(key);
    if (window === undefined || window.start !== start) {
      if (this.#windows.size > 10_000) this.#prune(start);
      window = { start, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= perMinute) return { allowed: false, retryAfter };
    window.count++;
    return { allowed: true, retryAfter: 0 };
  }

  #prune(currentStart: number): void {
    for (const [key, window] of this.#windows) if (window.start < currentStart) this.#windows.delete(key);
  }
}
