import { describe, expect, it } from 'vitest';
import { batchPerTurn, distinctRounds, rowsStatement } from './batch.js';

describe('batchPerTurn', () => {
  it('hands the calls of one turn to one run, in order, and each caller its own answer', async () => {
    const runs: number[][] = [];
    const double = batchPerTurn(async (inputs: number[]) => {
      runs.push(inputs);
      return inputs.map((n) => n * 2);
    });
    expect(await Promise.all([double(1), double(2), double(3)])).toEqual([2, 4, 6]);
    expect(await double(4)).toBe(8);
    expect(runs).toEqual([[1, 2, 3], [4]]);
  });

  it('splits a large turn into runs of at most maxSize', async () => {
    const sizes: number[] = [];
    const echo = batchPerTurn(
      async (inputs: number[]) => {
        sizes.push(inputs.length);
        return inputs;
      },
      { maxSize: 4 },
    );
    const inputs = Array.from({ length: 10 }, (_, i) => i);
    expect(await Promise.all(inputs.map(echo))).toEqual(inputs);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('rejects every call of a run that fails, or answers the wrong number of outputs, and goes on', async () => {
    let fail = true;
    const flaky = batchPerTurn(async (inputs: string[]) => {
      if (fail) throw new Error('the store is down');
      return inputs.slice(1);
    });
    const failed = await Promise.allSettled([flaky('a'), flaky('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failed[0]).toMatchObject({ reason: new Error('the store is down') });
    fail = false;
    await expect(Promise.all([flaky('a'), flaky('b')])).rejects.toThrow('a batch of 2 was answered with 1');
  });

  it('refuses a maxSize that is not a whole number of at least 1', () => {
    expect(() => batchPerTurn(async () => [], { maxSize: 0 })).toThrow(TypeError);
    expect(() => batchPerTurn(async () => [], { maxSize: 1.5 })).toThrow(TypeError);
  });
});

describe('distinctRounds', () => {
  it('puts the k-th item of each key in round k, keeping the order within each round', () => {
    const items = ['a1', 'b1', 'a2', 'c1', 'a3', 'b2'];
    expect(distinctRounds(items, (item) => item.charAt(0))).toEqual([['a1', 'b1', 'c1'], ['a2', 'b2'], ['a3']]);
    expect(distinctRounds([], (item: string) => item)).toEqual([]);
  });
});

describe('rowsStatement', () => {
  it('writes a placeholder row per row, building the text once for each number of rows', () => {
    let builds = 0;
    const insert = rowsStatement(3, (values) => {
      builds += 1;
      return `INSERT INTO t (a, b, c) VALUES ${values}`;
    });
    expect(insert(1)).toBe('INSERT INTO t (a, b, c) VALUES (?, ?, ?)');
    expect(insert(2)).toBe('INSERT INTO t (a, b, c) VALUES (?, ?, ?), (?, ?, ?)');
    expect(insert(2)).toBe(insert(2));
    expect(builds).toBe(2);
  });

  it('refuses a width or a number of rows that is not a whole number of at least 1', () => {
    expect(() => rowsStatement(0, (values) => values)).toThrow(TypeError);
    const statement = rowsStatement(1, (values) => values);
    expect(() => statement(0)).toThrow(TypeError);
    expect(() => statement(1.5)).toThrow(TypeError);
  });
});
