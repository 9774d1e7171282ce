// The message log remembers each (iss, jti) for a day (PROTOCOL 2); after that an entry
// counts for nothing, but it stays stored until something removes it. The sweeper does,
// in the background: a pass now and then, in bounded batches, so that the log holds
// about a day of messages however long the instance runs.
import { setBackgroundTimeout } from '../lib/background-timer.js';
import { describeError, type Logger } from '../logger.js';
import type { MessageLogStore } from '../stores/types.js';

export interface MessageLogSweeperOptions {
  messageLog: MessageLogStore;
  now: () => Date;
  logger: Logger;
  /** Time between passes. Default 60 s. */
  intervalMs?: number | undefined;
  /** The most entries one statement removes; a pass runs batches until none is full. Default 500. */
  batchSize?: number | undefined;
}

export class MessageLogSweeper {
  readonly #o: MessageLogSweeperOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<number> | undefined;
  #started = false;
  #stopping = false;

  constructor(options: MessageLogSweeperOptions) {
    const batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError('batchSize must be a whole number of at least 1');
    const intervalMs = options.intervalMs ?? 60_000;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new TypeError('intervalMs must be a number of milliseconds above 0');
    this.#o = options;
  }

  /** Removes every entry expired now, batch by batch; answers how many. One pass at a time. */
  sweep(): Promise<number> {
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

  /** Stops after the pass under way, if any. */
  async stop(): Promise<void> {
    this.#started = false;
    this.#stopping = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(delay: number): void {
    this.#timer = setBackgroundTimeout(() => {
      this.#timer = undefined;
      void this.sweep()
        .catch((error: unknown) => {
          this.#o.logger.warn('could not prune the message log; will try again', describeError(error));
        })
        .finally(() => {
          // Unless stopped, or stopped and started again meanwhile (which scheduled a pass).
          if (this.#started && this.#timer === undefined) this.#schedule(this.#o.intervalMs ?? 60_000);
        });
    }, delay);
  }

  async #pass(): Promise<number> {
    const batchSize = this.#o.batchSize ?? 500;
    const now = this.#o.now();
    let total = 0;
    for (;;) {
      const pruned = await this.#o.messageLog.prune(now, batchSize);
      total += pruned;
      if (pruned < batchSize || this.#stopping) return total;
      // Let the requests waiting meanwhile run before the next batch.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}
