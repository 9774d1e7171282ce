/**
 * `setTimeout` for background work: on Node, a pending timer of this kind never keeps the
 * process alive by itself. Other runtimes have no such notion and ignore it.
 */
export function setBackgroundTimeout(run: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
