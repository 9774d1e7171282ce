// What the server keeps only for a while, and removes in the background so that storage
// stays bounded however long the instance runs: message log entries past their retention
// (PROTOCOL 2 keeps each (iss, jti) for a day; after that an entry counts for nothing),
// outbox entries that were delivered or given up (nothing reads them again), and spawn
// requests past the day their Idempotency-Key answers for (PROTOCOL 6). A pass
// now and then, in bounded batches, yielding between them.
import { BackgroundLoop } from '../lib/background.js';
import { describeError, type Logger } from '../logger.js';
import type { FederationStores } from '../stores/types.js';

export interface SweeperOptions {
  stores: Pick<FederationStores, 'messageLog' | 'outbox' | 'spawnRequests'>;
  now: () => Date;
  logger: Logger;
  /** Time between passes. Default 60 s. */
  intervalMs?: number | undefined;
  /** The most entries one statement removes; a pass runs batches until one is not full. Default 500. */
  batchSize?: number | undefined;
}

/** How many entries a pass removed, per store. */
export interface SweepResult {
  messageLog: number;
  outbox: number;
  spawnRequests: number;
}

/** How long a spawn's Idempotency-Key returns its agent: as long as a peer keeps its jti. */
const SPAWN_REQUEST_RETENTION_MS = 24 * 60 * 60 * 1000;

export class Sweeper {
  readonly #o: SweeperOptions;
  readonly #batchSize: number;
  readonly #loop: BackgroundLoop<SweepResult>;

  constructor(options: SweeperOptions) {
    this.#batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1) throw new TypeError('batchSize must be a whole number of at least 1');
    const intervalMs = options.intervalMs ?? 60_000;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new TypeError('intervalMs must be a number of milliseconds above 0');
    this.#o = options;
    this.#loop = new BackgroundLoop(() => this.#pass(), {
      intervalMs,
      onError: (error) => options.logger.warn('could not remove expired entries; will try again', describeError(error)),
    });
  }

  /** Removes everything due for removal now, batch by batch. One pass at a time. */
  sweep(): Promise<SweepResult> {
    return this.#loop.runNow();
  }

  /** A pass now, then one every interval, in the background. */
  start(): void {
    this.#loop.start();
  }

  /** Stops after the batch under way, if any. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #pass(): Promise<SweepResult> {
    const now = this.#o.now();
    const { messageLog, outbox, spawnRequests } = this.#o.stores;
    const spawnsBefore = new Date(now.getTime() - SPAWN_REQUEST_RETENTION_MS).toISOString();
    return {
      messageLog: await this.#drain((limit) => messageLog.prune(now, limit)),
      outbox: await this.#drain((limit) => outbox.prune(now.getTime(), limit)),
      spawnRequests: await this.#drain((limit) => spawnRequests.prune(spawnsBefore, limit)),
    };
  }

  async #drain(prune: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const removed = await prune(this.#batchSize);
      total += removed;
      if (removed < this.#batchSize || this.#loop.stopping) return total;
      // Let the requests waiting meanwhile run before the next batch.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}
