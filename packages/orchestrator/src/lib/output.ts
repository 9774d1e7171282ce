/** Default cap of one command's output kept for the model: head and tail, about 30 KB. */
export const DEFAULT_OUTPUT_LIMIT = 30_000;

/**
 * Collects a stream's text up to `limit` characters, keeping the head and the tail and
 * saying how much was left out in between.
 */
export class ClippedText {
  readonly #limit: number;
  #head = '';
  #tail = '';
  #dropped = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: string): void {
    const half = Math.floor(this.#limit / 2);
    if (this.#head.length < half) {
      const take = half - this.#head.length;
      this.#head += chunk.slice(0, take);
      chunk = chunk.slice(take);
    }
    if (chunk === '') return;
    this.#tail += chunk;
    if (this.#tail.length > half) {
      this.#dropped += this.#tail.length - half;
      this.#tail = this.#tail.slice(-half);
    }
  }

  toString(): string {
    if (this.#dropped === 0) return this.#head + this.#tail;
    return `${this.#head}\n[output clipped: ${this.#dropped} characters left out]\n${this.#tail}`;
  }
}

/**
 * Resolves a path the model gave against the sandbox's workdir, refusing anything that
 * leaves it (`..`, another absolute path).
 */
export function resolveInside(workdir: string, path: string): string {
  const base = workdir.replace(/\/+$/, '');
  const absolute = path.startsWith('/') ? path : `${base}/${path}`;
  const parts: string[] = [];
  for (const part of absolute.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw new Error(`${path} is outside the repository`);
      parts.pop();
    } else parts.push(part);
  }
  const resolved = `/${parts.join('/')}`;
  if (resolved !== base && !resolved.startsWith(`${base}/`)) throw new Error(`${path} is outside the repository (${base})`);
  return resolved;
}
