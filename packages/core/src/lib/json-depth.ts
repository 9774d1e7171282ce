/**
 * How deeply arrays and objects nest in a JSON value: 0 for a scalar, 1 for `[]` or
 * `{}`, one more for every level inside. Iterative, so that a hostile value cannot
 * exhaust the stack, and it stops as soon as `limit` is passed (the answer is then
 * `limit + 1`).
 */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return limit + 1;
    if (depth > deepest) deepest = depth;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
    }
  }
  return deepest;
}
