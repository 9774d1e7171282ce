/** Options for {@link batchPerTurn}. */
export interface BatchPerTurnOptions {
  /** The most inputs handed to one run. Default 64. */
  maxSize?: number;
}

interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (reason: unknown) => void;
}

// setImmediate runs once the I/O callbacks of this turn have run, so it gathers the calls
// of every request handled in the turn. Runtimes without it get the next timer tick.
const { setImmediate: immediate } = globalThis as { setImmediate?: (run: () => void) => unknown };
const nextTurn: (run: () => void) => void =
  immediate === undefined ? (run) => setTimeout(run, 0) : (run) => void immediate(run);

/**
 * Gathers the calls made during one turn of the event loop and hands their inputs to `run`
 * together, which answers one output per input, in order. For work whose fixed cost per
 * call outweighs its cost per item: one database statement for many rows, say. If `run`
 * throws, every call of its batch rejects with that error.
 *
 * @example
 * ```ts
 * const load = batchPerTurn((ids: string[]) => readRows(ids)); // one query for the turn
 * const [a, b] = await Promise.all([load('a'), load('b')]);
 * ```
 */
export function batchPerTurn<I, O>(
  run: (inputs: I[]) => Promise<O[]>,
  options: BatchPerTurnOptions = {},
): (input: I) => Promise<O> {
  const maxSize = options.maxSize ?? 64;
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new TypeError('maxSize must be a whole number of at least 1');
  let waiting: Waiting<I, O>[] = [];

  async function flush(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outputs = await run(batch.map((call) => call.input));
      if (outputs.length !== batch.length) throw new Error(`a batch of ${batch.length} was answered with ${outputs.length}`);
      batch.forEach((call, i) => call.resolve(outputs[i] as O));
    } catch (error) {
      for (const call of batch) call.reject(error);
    }
  }

  return (input) =>
    new Promise<O>((resolve, reject) => {
      if (waiting.length === 0) {
        nextTurn(() => {
          const all = waiting;
          waiting = [];
          for (let start = 0; start < all.length; start += maxSize) void flush(all.slice(start, start + maxSize));
        });
      }
      waiting.push({ input, resolve, reject });
    });
}

/**
 * `items` in rounds, in their order, each round holding at most one item per key: the
 * k-th item of a key goes in round k. One statement per round then writes a batch as
 * one write after another would, though a statement touches each row once.
 *
 * @example
 * ```ts
 * distinctRounds(['a1', 'b1', 'a2'], (item) => item[0]); // [['a1', 'b1'], ['a2']]
 * ```
 */
export function distinctRounds<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const rounds: T[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push(item);
  }
  return rounds;
}

/**
 * SQL that takes its rows as a multi-row `VALUES` list, each row `width` placeholders
 * (`(?, ?), (?, ?)`), its text built once per number of rows: the same number of rows
 * gives the same text, which a client that keeps statements prepared by their text keeps
 * prepared. For a batch written in one statement.
 *
 * @example
 * ```ts
 * const insert = rowsStatement(2, (values) => `INSERT INTO t (a, b) VALUES ${values}`);
 * insert(2); // 'INSERT INTO t (a, b) VALUES (?, ?), (?, ?)'
 * ```
 */
export function rowsStatement(width: number, build: (values: string) => string): (count: number) => string {
  if (!Number.isInteger(width) || width < 1) throw new TypeError('width must be a whole number of at least 1');
  const row = `(${Array.from({ length: width }, () => '?').join(', ')})`;
  const built = new Map<number, string>();
  return (count) => {
    if (!Number.isInteger(count) || count < 1) throw new TypeError('a statement takes a whole number of rows, at least 1');
    let text = built.get(count);
    if (text === undefined) {
      text = build(Array.from({ length: count }, () => row).join(', '));
      built.set(count, text);
    }
    return text;
  };
}
