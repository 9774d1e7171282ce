import { describe, expect, it } from 'vitest';
import { jsonDepth } from './json-depth.js';

function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { inner: value };
  return value;
}

describe('jsonDepth', () => {
  it('counts every level of arrays and objects, and nothing for scalars', () => {
    expect(jsonDepth('text', 64)).toBe(0);
    expect(jsonDepth(null, 64)).toBe(0);
    expect(jsonDepth({}, 64)).toBe(1);
    expect(jsonDepth({ a: [1, { b: 2 }], c: 'x' }, 64)).toBe(3);
    expect(jsonDepth(nested(64), 64)).toBe(64);
  });

  it('stops past the limit without walking the rest, even at a depth that would overflow the stack', () => {
    expect(jsonDepth(nested(65), 64)).toBe(65);
    expect(jsonDepth(nested(200_000), 64)).toBe(65);
  });
});
