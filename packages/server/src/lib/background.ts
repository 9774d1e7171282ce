/**
 * `setTimeout` for background work: on Node, a pending timer of this kind never keeps the
 * process alive by itself. Other runtimes have no such notion and ignore it.
 */
export function setBackgroundTimeout(run: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/**
 * Work that runs in passes, in the background: one pass at once when started, then one
 * every `intervalMs` after the last ended, or sooner when woken. Never two passes at a
 * time: a pass asked for while one runs is that one. A failed pass goes to `onError`, and
 * the next runs on time.
 */
export class BackgroundLoop<T> {
  readonly #run: () => Promise<T>;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<T> | undefined;
  #started = false;
  #stopping = false;

  constructor(run: () => Promise<T>, options: { intervalMs: number; onError: (error: unknown) => void }) {
    this.#run = run;
    this.#intervalMs = options.intervalMs;
    this.#onError = options.onError;
  }

  /** A pass now, or the one under way. */
  runNow(): Promise<T> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** True from {@link stop} until the next {@link start}: a long pass may end early. */
  get stopping(): boolean {
    return this.#stopping;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#stopping = false;
    this.#schedule(0);
  }

  /** Stops scheduling passes, and waits for the one under way, if any. */
  async stop(): Promise<void> {
    this.#started = false;
    this.#stopping = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Asks for a pass soon, when started. */
  wake(): void {
    if (this.#started) this.#schedule(0);
  }

  #schedule(delay: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setBackgroundTimeout(() => {
      this.#timer = undefined;
      void this.runNow()
        .catch(this.#onError)
        .finally(() => {
          // Unless stopped, or woken or restarted meanwhile (which scheduled a pass).
          if (this.#started && this.#timer === undefined) this.#schedule(this.#intervalMs);
        });
    }, delay);
  }
}
