// What the server keeps only for a while, and removes in the background so that storage
// stays bounded however long the instance runs: message log entries past their retention
// (PROTOCOL 2 keeps each (iss, jti) for a day; after that an entry counts for nothing),
// and outbox entries that were delivered or given up (nothing reads them again). A pass
// now and then, in bounded batches, yielding between them.
import { setBackgroundTimeout } from '../lib/background-timer.js';
import { describeError, type Logger } from '../logger.js';
import type { FederationStores } from '../stores/types.js';

export interface SweeperOptions {
  stores: Pick<FederationStores, 'messageLog' | 'outbox'>;
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
}

export class Sweeper {
  readonly #o: SweeperOptions;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<SweepResult> | undefined;
  #started = false;
  #stopping = false;

  constructor(options: SweeperOptions) {
    this.#batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1) throw new TypeError('batchSize must be a whole number of at least 1');
    this.#intervalMs = options.intervalMs ?? 60_000;
    if (!Number.isFinite(this.#intervalMs) || this.#intervalMs <= 0) throw new TypeError('intervalMs must be a number of milliseconds above 0');
    this.#o = options;
  }

  /** Removes everything due for removal now, batch by batch. One pass at a time. */
  sweep(): Promise<SweepResult> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** A pass now, then one every interval, in the background. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#stopping = false;
    this.#schedule(0);
  }

  /** Stops after the batch under way, if any. */
  async stop(): Promise<void> {
    this.#started = false;
    this.#stopping = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  #schedule(delay: number): void {
    this.#timer = setBackgroundTimeout(() => {
      this.#timer = undefined;
      void this.sweep()
        .catch((error: unknown) => {
          this.#o.logger.warn('could not remove expired entries; will try again', describeError(error));
        })
        .finally(() => {
          // Unless stopped, or stopped and started again meanwhile (which scheduled a pass).
          if (this.#started && this.#timer === undefined) this.#schedule(this.#intervalMs);
        });
    }, delay);
  }

  async #pass(): Promise<SweepResult> {
    const now = this.#o.now();
    const { messageLog, outbox } = this.#o.stores;
    return {
      messageLog: await this.#drain((limit) => messageLog.prune(now, limit)),
      outbox: await this.#drain((limit) => outbox.prune(now.getTime(), limit)),
    };
  }

  async #drain(prune: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const removed = await prune(this.#batchSize);
      total += removed;
      if (removed < this.#batchSize || this.#stopping) return total;
      // Let the requests waiting meanwhile run before the next batch.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}
